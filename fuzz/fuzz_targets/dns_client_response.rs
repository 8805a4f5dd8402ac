//! The stub resolver's answer path: `client::check_response` on arbitrary
//! bytes, and `Answer::from_message` on whatever it accepts. Neither may
//! panic; an accepted message answers the question that was sent, and an
//! answer's CNAME chain stays within the limit.
//!
//! To get past the ID and question checks, the question sent is taken from
//! the input itself when it parses with one question (as if the response
//! were to our query), else a fixed one.

#![no_main]

use std::net::{Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use mirage_dns::client::{Answer, Sent, check_response};
use mirage_dns::wire::{Class, Message, Name, Question, Type};

const MAX_CHAIN: usize = 8;

fuzz_target!(|data: &[u8]| {
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 53));
    let question = match Message::parse(data) {
        Ok(m) if m.questions.len() == 1 => m.questions[0].clone(),
        _ => Question {
            name: "example.com.".parse::<Name>().expect("a valid name"),
            qtype: Type::A,
            qclass: Class::IN,
        },
    };
    let id = data
        .get(..2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let sent = Sent {
        server,
        id,
        question,
    };
    let Ok(message) = check_response(&sent, server, data) else {
        return;
    };
    match message.questions.as_slice() {
        [q] => assert_eq!(*q, sent.question, "accepted a response to another question"),
        [] => {}
        _ => panic!("accepted a response with several questions"),
    }
    if let Ok(answer) = Answer::from_message(&sent.question, &message, MAX_CHAIN) {
        assert!(answer.chain.len() <= MAX_CHAIN, "chain over the limit");
    }
    // A response from another address is never accepted.
    let other = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 53));
    assert!(check_response(&sent, other, data).is_err(), "accepted a spoofed source");
});
