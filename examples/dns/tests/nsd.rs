//! Differential test against NSD: the same zones served by the built
//! appliance and by NSD (Debian package `nsd`, run unprivileged on
//! 127.0.0.1), the same questions asked of both, the answers compared.
//! Skips, saying so, when `nsd` is absent.

mod support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Server, ZoneDir, free_port, start_appliance};

use mirage_dns::wire::{Class, Edns, Message, Question, Record, Type};

const EXAMPLE_COM: &str = r#"$ORIGIN example.com.
$TTL 3600
@         SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
@         NS    ns1
@         NS    ns2
@         MX    10 mail
ns1       A     192.0.2.1
ns2       A     192.0.2.2
mail      A     192.0.2.25
www       A     192.0.2.80
www       AAAA  2001:db8::80
alias     CNAME www
ext       CNAME www.example.net.
chain     CNAME x.example.org.
*.wild    A     192.0.2.99
*.wild    TXT   "wild"
sub.wild  A     192.0.2.98
a.b.c.ent A     192.0.2.3
sub       NS    ns.sub
sub       NS    ns.other.net.
ns.sub    A     192.0.2.53
dname     DNAME example.org.
_sip._tcp SRV   10 60 5060 www
big       TXT   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#;

const EXAMPLE_ORG: &str = r#"$ORIGIN example.org.
$TTL 600
@   60  SOA  ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 3600
@       NS   ns1.example.com.
x       A    192.0.2.100
"#;

/// Questions asked of both servers: name, type, EDNS buffer size.
const QUESTIONS: &[(&str, Type, Option<u16>)] = &[
    ("www.example.com.", Type::A, None),
    ("WwW.ExAmPlE.cOm.", Type::AAAA, Some(1232)),
    ("example.com.", Type::SOA, None),
    ("example.com.", Type::NS, None),
    ("example.com.", Type::MX, None),
    ("alias.example.com.", Type::A, None),
    ("alias.example.com.", Type::CNAME, None),
    ("ext.example.com.", Type::A, None),
    ("chain.example.com.", Type::A, None),
    ("nope.example.com.", Type::A, None),
    ("www.example.com.", Type::MX, None),
    ("c.ent.example.com.", Type::A, None),
    ("x.c.ent.example.com.", Type::A, None),
    ("x.wild.example.com.", Type::A, None),
    ("a.b.wild.example.com.", Type::TXT, None),
    ("x.wild.example.com.", Type::MX, None),
    ("sub.wild.example.com.", Type::TXT, None),
    ("x.sub.wild.example.com.", Type::A, None),
    ("*.wild.example.com.", Type::A, None),
    ("host.sub.example.com.", Type::A, None),
    ("sub.example.com.", Type::NS, None),
    ("sub.example.com.", Type::DS, None),
    ("x.dname.example.com.", Type::A, None),
    ("y.dname.example.com.", Type::A, None),
    ("dname.example.com.", Type::DNAME, None),
    ("_sip._tcp.example.com.", Type::SRV, None),
    ("x.example.org.", Type::A, Some(4096)),
    ("nope.example.org.", Type::TXT, None),
    ("www.example.net.", Type::A, None),
    ("big.example.com.", Type::TXT, None),
    ("big.example.com.", Type::TXT, Some(4096)),
    ("big.example.com.", Type::TXT, Some(512)),
    ("www.example.com.", Type::ANY, None),
];

fn ask(port: u16, name: &str, qtype: Type, edns: Option<u16>) -> Option<Message> {
    exchange(port, name, qtype, Class::IN, edns)
}

fn ask_class(port: u16, name: &str, qtype: Type, qclass: Class) -> Option<Message> {
    exchange(port, name, qtype, qclass, None)
}

fn exchange(
    port: u16,
    name: &str,
    qtype: Type,
    qclass: Class,
    edns: Option<u16>,
) -> Option<Message> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut q = Message::default();
    q.header.id = 0x3131;
    q.questions.push(Question {
        name: name.parse().unwrap(),
        qtype,
        qclass,
    });
    q.edns = edns.map(|udp_payload_size| Edns {
        udp_payload_size,
        ..Edns::default()
    });
    let mut bytes = Vec::new();
    q.emit(&mut bytes).unwrap();
    sock.send_to(&bytes, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .unwrap();
    let mut buf = [0u8; 65535];
    let n = sock.recv(&mut buf).ok()?;
    Some(Message::parse(&buf[..n]).expect("a well-formed response"))
}

fn wait_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while ask(port, "example.com.", Type::SOA, None).is_none() {
        assert!(
            Instant::now() < deadline,
            "server on port {port} never answered"
        );
    }
}

fn start_nsd(dir: &Path) -> Option<Server> {
    let port = free_port();
    let conf = dir.join("nsd.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  server-count: 1\n  rrl-ratelimit: 0\n  minimal-responses: yes\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  username: \"\"\n  logfile: \"{d}/nsd.log\"\nremote-control:\n  control-enable: no\nzone:\n  name: example.com\n  zonefile: example.com.zone\nzone:\n  name: example.org\n  zonefile: example.org.zone\n"
        ),
    )
    .unwrap();
    let child = Command::new("nsd")
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Server { child, port })
}

/// What is compared: rcode, flags, and the sections as sorted master-file lines.
/// The additional section is compared only for referrals (glue), where it matters.
fn summary(m: &Message) -> String {
    let sorted = |rs: &[Record]| {
        let mut v: Vec<String> = rs.iter().map(|r| r.to_string()).collect();
        v.sort();
        v
    };
    let referral = !m.header.aa && !m.authority.is_empty();
    format!(
        "rcode={} aa={} tc={} edns={}\nanswer={:#?}\nauthority={:#?}\nglue={:#?}",
        m.rcode(),
        m.header.aa,
        m.header.tc,
        m.edns.is_some(),
        sorted(&m.answers),
        sorted(&m.authority),
        if referral {
            sorted(&m.additional)
        } else {
            Vec::new()
        }
    )
}

#[test]
fn answers_match_nsd() {
    if Command::new("nsd")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        println!("SKIP: nsd is not installed (apt-get install nsd)");
        return;
    }
    let dir = ZoneDir::new(
        "nsd",
        &[
            ("example.com.zone", EXAMPLE_COM),
            ("example.org.zone", EXAMPLE_ORG),
        ],
    );
    let ours = start_appliance(dir.path());
    let Some(nsd) = start_nsd(dir.path()) else {
        println!("SKIP: nsd did not start");
        return;
    };
    wait_up(ours.port);
    wait_up(nsd.port);
    // Make sure the peer really is NSD, not us on a reused port.
    let version =
        ask_class(nsd.port, "version.server.", Type::TXT, Class::CH).expect("nsd answers CH TXT");
    assert!(
        version
            .answers
            .iter()
            .any(|r| r.to_string().contains("NSD")),
        "{version:?}"
    );
    let mut differences = Vec::new();
    for &(name, qtype, edns) in QUESTIONS {
        let a = ask(ours.port, name, qtype, edns).expect("we answer");
        let b = ask(nsd.port, name, qtype, edns).expect("nsd answers");
        assert_eq!(a.questions, b.questions, "question echoed as asked");
        let (sa, sb) = (summary(&a), summary(&b));
        if sa != sb {
            differences.push(format!(
                "{name} {qtype} edns={edns:?}\n--- ours\n{sa}\n--- nsd\n{sb}"
            ));
        }
    }
    drop((ours, nsd));
    assert!(
        differences.is_empty(),
        "{} of {} answers differ:\n{}",
        differences.len(),
        QUESTIONS.len(),
        differences.join("\n\n")
    );
}
