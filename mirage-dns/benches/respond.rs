//! Cost of one answer from the pure responder, memo hit and memo miss,
//! against the cost of parsing and emitting the same message. Prints
//! nanoseconds per query, and what the primary's checks (TSIG, transfer,
//! update) add to a plain query on a memo hit; run with `cargo bench -p mirage-dns --bench respond`.

use std::hint::black_box;
use std::time::Instant;

use mirage_core::{PosixTime, WallClock};
use mirage_dns::server::{
    Handler, Options, Primary, PrimaryOptions, Responder, Transport, ZoneSet, Zones,
};
use mirage_dns::wire::{Class, Edns, Message, Name, Question, Type};
use mirage_dns::zone::{Zone, parse_str};

fn zone() -> Zone {
    let mut text = String::from(
        "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n*.wild A 192.0.2.99\n",
    );
    for i in 0..1000 {
        text.push_str(&format!(
            "host{i} A 10.0.{}.{}\nhost{i} AAAA 2001:db8::{i:x}\n",
            i / 256,
            i % 256
        ));
    }
    let origin: Name = "example.com.".parse().unwrap();
    Zone::new(origin.clone(), parse_str(&text, "bench", &origin).unwrap()).unwrap()
}

fn queries() -> Vec<Vec<u8>> {
    (0..2000)
        .map(|i| {
            let name = match i % 4 {
                0 | 1 => format!("host{}.example.com.", i % 1000),
                2 => format!("nx{i}.example.com."),
                _ => format!("w{i}.wild.example.com."),
            };
            let mut q = Message::default();
            q.header.id = i as u16;
            q.questions.push(Question {
                name: name.parse().unwrap(),
                qtype: if i % 2 == 0 { Type::A } else { Type::AAAA },
                qclass: Class::IN,
            });
            q.edns = Some(Edns::default());
            let mut b = Vec::new();
            q.emit(&mut b).unwrap();
            b
        })
        .collect()
}

fn per_query(label: &str, n: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!("{label}: {ns:.0} ns/query");
    ns
}

/// A wall clock stopped at one instant.
struct Stopped;

impl WallClock for Stopped {
    fn now_posix(&self) -> PosixTime {
        PosixTime::EPOCH
    }
}

fn main() {
    let zones = Zones::new(ZoneSet::new([zone()]));
    let qs = queries();
    let mut out = Vec::with_capacity(4096);
    let n = 1_000_000;

    let mut warm = Responder::new(zones.clone(), Options::default());
    for q in &qs {
        warm.respond(q, Transport::Udp, &mut out);
    }
    let hit = per_query("memo hit", n, |i| {
        black_box(warm.respond(&qs[i % qs.len()], Transport::Udp, &mut out));
    });
    let miss = per_query("memo miss (answer computed)", n / 10, |i| {
        let mut cold = Responder::new(
            zones.clone(),
            Options {
                memo_bytes: 0,
                ..Options::default()
            },
        );
        black_box(cold.respond(&qs[i % qs.len()], Transport::Udp, &mut out));
    });
    let codec = per_query("parse + emit of the query", n, |i| {
        let m = Message::parse(&qs[i % qs.len()]).unwrap();
        out.clear();
        m.emit(&mut out).unwrap();
        black_box(&out);
    });
    let mut primary = Primary::new(
        Responder::new(zones.clone(), Options::default()),
        zones.clone(),
        PrimaryOptions::default(),
        Stopped,
    );
    let peer = "192.0.2.1:5353".parse().unwrap();
    let mut more = Vec::new();
    for q in &qs {
        primary.handle(q, Transport::Udp, peer, &mut out, &mut more);
    }
    let primary_hit = per_query("primary, memo hit", n, |i| {
        black_box(primary.handle(&qs[i % qs.len()], Transport::Udp, peer, &mut out, &mut more));
    });
    println!(
        "memo miss / memo hit = {:.1}; parse+emit / memo hit = {:.1}; primary / responder (memo hit) = {:.2}",
        miss / hit,
        codec / hit,
        primary_hit / hit
    );
}
