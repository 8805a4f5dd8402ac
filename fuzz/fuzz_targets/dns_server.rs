//! The authoritative server's pure core, `Responder::respond`, over a small
//! fixed zone set: arbitrary query bytes never panic, every response parses,
//! echoes the query id, keeps within the transport's size limit, and a
//! responder that has memoised earlier answers says the same as a fresh one.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use mirage_dns::server::{Options, Responder, Transport, ZoneSet, Zones};
use mirage_dns::wire::{Message, Name};
use mirage_dns::zone::{Zone, parse_str};

const EXAMPLE_COM: &str = r#"
$ORIGIN example.com.
$TTL 3600
@       SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
@       NS    ns1
@       NS    ns2
@       MX    10 mail
ns1     A     192.0.2.1
ns2     A     192.0.2.2
mail    A     192.0.2.25
www     A     192.0.2.80
www     AAAA  2001:db8::80
www     TXT   "v=spf1 -all"
alias   CNAME www
ext     CNAME www.example.net.
loop1   CNAME loop2
loop2   CNAME loop1
chain   CNAME x.example.org.
*.wild  A     192.0.2.99
*.wild  TXT   "wild"
a.b.c.ent A   192.0.2.3
sub     NS    ns.sub
sub     NS    ns.other.net.
ns.sub  A     192.0.2.53
dname   DNAME example.org.
big     TXT   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT   "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT   "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT   "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT   "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT   "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#;

const EXAMPLE_ORG: &str = r#"
$ORIGIN example.org.
$TTL 600
@   60  SOA  ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 3600
@       NS   ns1.example.com.
x       A    192.0.2.100
"#;

fn zone(origin: &str, text: &str) -> Zone {
    let origin: Name = origin.parse().expect("valid origin");
    let records = parse_str(text, origin.to_string().as_str(), &origin).expect("fixture parses");
    Zone::new(origin, records).expect("fixture passes the checks")
}

fn zones() -> Zones {
    Zones::new(ZoneSet::new([
        zone("example.com.", EXAMPLE_COM),
        zone("example.org.", EXAMPLE_ORG),
    ]))
}

thread_local! {
    /// The zone slot, built once.
    static ZONES: Zones = zones();
    /// A responder kept across inputs, so its memo of answers is exercised.
    static MEMO: RefCell<Responder> = RefCell::new(ZONES.with(|z| Responder::new(z.clone(), small_memo())));
}

/// A small memo, so that clearing it when full is exercised too.
fn small_memo() -> Options {
    Options {
        cache_capacity: 64,
        memo_bytes: 16 * 1024,
        ..Options::default()
    }
}

fn check(query: &[u8], transport: Transport, sent: bool, out: &[u8]) {
    if !sent {
        assert!(out.is_empty(), "nothing to send, yet the output holds bytes");
        return;
    }
    let response = Message::parse(out).unwrap_or_else(|e| {
        panic!("response does not parse: {e}\nquery    {query:02x?}\nresponse {out:02x?}")
    });
    assert!(response.header.qr, "response without QR");
    assert_eq!(out[..2], query[..2], "response does not echo the query id");
    if transport == Transport::Udp {
        let limit = Options::default().max_udp_payload as usize;
        assert!(out.len() <= limit, "UDP response of {} bytes", out.len());
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the transport; the rest is the query.
    let Some((&pick, query)) = data.split_first() else {
        return;
    };
    let transport = if pick & 1 == 0 { Transport::Udp } else { Transport::Tcp };

    let mut fresh = ZONES.with(|z| Responder::new(z.clone(), small_memo()));
    let mut out = Vec::new();
    let sent = fresh.respond(query, transport, &mut out);
    check(query, transport, sent, &out);

    // Asked twice, the second answer may come from the memo: it must match.
    let mut again = Vec::new();
    let sent_again = fresh.respond(query, transport, &mut again);
    assert_eq!((sent_again, &again), (sent, &out), "memoised answer differs");

    // A responder with a memo filled by earlier inputs agrees too.
    let mut memo_out = Vec::new();
    let sent_memo = MEMO.with(|m| m.borrow_mut().respond(query, transport, &mut memo_out));
    assert_eq!((sent_memo, &memo_out), (sent, &out), "long-lived responder differs");
});
