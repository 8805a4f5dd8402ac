//! Shared fixtures: a test zone set and a helper that asks a question.

use mirage_dns::server::{Options, Responder, Transport, ZoneSet, Zones};
use mirage_dns::wire::{Class, Edns, Message, Name, Question, Type};
use mirage_dns::zone::{Zone, parse_str};

/// The shared `example.com.` test zone, with a CNAME loop added.
pub const EXAMPLE_COM: &str = concat!(
    mirage_testkit::example_com_zone!(),
    "loop1     CNAME loop2\n",
    "loop2     CNAME loop1\n"
);

pub use mirage_testkit::dns::EXAMPLE_ORG;

pub fn zone(origin: &str, text: &str) -> Zone {
    let origin: Name = origin.parse().unwrap();
    Zone::new(
        origin.clone(),
        parse_str(text, origin.to_string().as_str(), &origin).unwrap(),
    )
    .unwrap()
}

pub fn zone_set() -> ZoneSet {
    ZoneSet::new([
        zone("example.com.", EXAMPLE_COM),
        zone("example.org.", EXAMPLE_ORG),
    ])
}

pub fn responder() -> Responder {
    Responder::new(Zones::new(zone_set()), Options::default())
}

pub fn query(name: &str, qtype: Type, edns: Option<u16>) -> Message {
    let mut q = Message::default();
    q.header.id = 0x4242;
    q.header.rd = true;
    q.questions.push(Question {
        name: name.parse().unwrap(),
        qtype,
        qclass: Class::IN,
    });
    q.edns = edns.map(|size| Edns {
        udp_payload_size: size,
        ..Edns::default()
    });
    q
}

pub fn ask_bytes(r: &mut Responder, q: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    r.respond(q, transport, &mut out).then_some(out)
}

pub fn ask_msg(r: &mut Responder, q: &Message, transport: Transport) -> Message {
    let mut bytes = Vec::new();
    q.emit(&mut bytes).unwrap();
    Message::parse(&ask_bytes(r, &bytes, transport).expect("a response")).unwrap()
}

pub fn ask(r: &mut Responder, name: &str, qtype: Type) -> Message {
    ask_msg(r, &query(name, qtype, None), Transport::Udp)
}

/// The records of a section as master-file lines.
pub fn lines(rs: &[mirage_dns::wire::Record]) -> Vec<String> {
    rs.iter().map(|r| r.to_string()).collect()
}
