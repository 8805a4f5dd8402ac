//! Shared fixtures: a test zone set and a helper that asks a question.

use mirage_dns::server::{Options, Responder, Transport, ZoneSet, Zones};
use mirage_dns::wire::{Class, Edns, Message, Name, Question, Type};
use mirage_dns::zone::{Zone, parse_str};

pub const EXAMPLE_COM: &str = r#"
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
alias   CNAME www
ext     CNAME www.example.net.
loop1   CNAME loop2
loop2   CNAME loop1
chain   CNAME x.example.org.
*.wild  A     192.0.2.99
*.wild  TXT   "wild"
sub.wild A    192.0.2.98
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

pub const EXAMPLE_ORG: &str = r#"
$ORIGIN example.org.
$TTL 600
@   60  SOA  ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 3600
@       NS   ns1.example.com.
x       A    192.0.2.100
"#;

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
