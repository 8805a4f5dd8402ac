//! Wire-format properties: round trips and robustness on arbitrary bytes.

use mirage_dns::server::Transport;
use mirage_dns::wire::{Message, Name};
use quickcheck::{QuickCheck, TestResult};

use crate::arbitrary::ArbMessage;
use crate::common::responder;

#[test]
fn parse_of_emit_is_identity() {
    fn prop(m: ArbMessage) -> bool {
        let mut bytes = Vec::new();
        m.0.emit(&mut bytes).unwrap();
        Message::parse(&bytes).as_ref() == Ok(&m.0)
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(ArbMessage) -> bool);
}

#[test]
fn parse_never_panics_on_arbitrary_bytes() {
    fn prop(bytes: Vec<u8>) -> bool {
        let _ = Message::parse(&bytes);
        let _ = Name::parse(&bytes, 0);
        true
    }
    QuickCheck::new()
        .tests(5000)
        .quickcheck(prop as fn(Vec<u8>) -> bool);
}

#[test]
fn parse_never_panics_on_mutated_messages() {
    fn prop(m: ArbMessage, flips: Vec<(usize, u8)>) -> TestResult {
        let mut bytes = Vec::new();
        m.0.emit(&mut bytes).unwrap();
        if bytes.is_empty() {
            return TestResult::discard();
        }
        for (at, v) in flips {
            let i = at % bytes.len();
            bytes[i] ^= v;
        }
        let _ = Message::parse(&bytes);
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(ArbMessage, Vec<(usize, u8)>) -> TestResult);
}

#[test]
fn responder_never_panics_and_answers_with_the_query_id() {
    fn prop(mut bytes: Vec<u8>, header_ok: bool) -> bool {
        if header_ok && bytes.len() >= 12 {
            bytes[2] &= 0x07; // a query with opcode 0
        }
        let mut r = responder();
        let mut out = Vec::new();
        let sent = r.respond(&bytes, Transport::Udp, &mut out);
        !sent || (out.len() >= 12 && out[..2] == bytes[..2] && out.len() <= 1232)
    }
    QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(Vec<u8>, bool) -> bool);
}

#[test]
fn responder_answers_every_generated_query() {
    fn prop(m: ArbMessage) -> bool {
        let mut q = m.0;
        q.header.qr = false;
        let mut bytes = Vec::new();
        q.emit(&mut bytes).unwrap();
        let mut r = responder();
        let mut out = Vec::new();
        r.respond(&bytes, Transport::Udp, &mut out) && Message::parse(&out).is_ok()
    }
    QuickCheck::new()
        .tests(1000)
        .quickcheck(prop as fn(ArbMessage) -> bool);
}

#[test]
fn canonical_order_is_a_total_order_consistent_with_eq() {
    fn prop(seed: u64) -> bool {
        let mut g = quickcheck::Gen::new((seed % 50) as usize + 1);
        let (a, b, c) = (
            crate::arbitrary::name(&mut g),
            crate::arbitrary::name(&mut g),
            crate::arbitrary::name(&mut g),
        );
        let lower = a.to_lowercase();
        a.cmp(&b) == b.cmp(&a).reverse()
            && (a.cmp(&b) == std::cmp::Ordering::Equal) == (a == b)
            && a.cmp(&lower) == std::cmp::Ordering::Equal
            && !(a < b && b < c && c <= a)
            // A name sorts after its parent.
            && a.parent().is_none_or(|p| p < a)
    }
    QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(u64) -> bool);
}
