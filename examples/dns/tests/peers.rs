//! Differential tests against NSD and Knot: the same zones served by the
//! built appliance and by the peer (Debian packages `nsd` and `knot`, run
//! unprivileged on 127.0.0.1), the same questions asked of both, the
//! answers compared. Each skips, saying so, when its peer is absent.

mod support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mirage_testkit::dns::EXAMPLE_ORG;
use mirage_testkit::peers::{TEST_ZONES, knot_zones, nsd_conf};
use mirage_testkit::tools::have;
use support::{Server, ZoneDir, free_port, start_appliance};

use mirage_dns::wire::{Class, Edns, Message, Name, Question, RData, Rcode, Record, Type};

/// The shared `example.com.` test zone, with an SRV record added.
const EXAMPLE_COM: &str = concat!(
    mirage_testkit::example_com_zone!(),
    "_sip._tcp SRV   10 60 5060 www\n"
);

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

fn ask(port: u16, name: &str, qtype: Type, edns: Option<u16>, dnssec_ok: bool) -> Option<Message> {
    exchange(port, name, qtype, Class::IN, edns, dnssec_ok)
}

fn ask_class(port: u16, name: &str, qtype: Type, qclass: Class) -> Option<Message> {
    exchange(port, name, qtype, qclass, None, false)
}

fn exchange(
    port: u16,
    name: &str,
    qtype: Type,
    qclass: Class,
    edns: Option<u16>,
    dnssec_ok: bool,
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
        dnssec_ok,
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
    while ask(port, "example.com.", Type::SOA, None, false).is_none() {
        assert!(
            Instant::now() < deadline,
            "server on port {port} never answered"
        );
    }
}

fn start_nsd(dir: &Path) -> Option<Server> {
    let port = free_port();
    let conf = nsd_conf(dir, port, "  minimal-responses: yes\n", &TEST_ZONES);
    let child = Command::new("nsd")
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Server::new(child, port))
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

/// Our answer as a server that follows a CNAME or DNAME chain only inside
/// the zone of the question would give it: the chain cut where it leaves
/// that zone, with the rcode and authority of that point (NOERROR, none).
fn within_question_zone(mut m: Message) -> Message {
    let origins: [Name; 2] = [
        "example.com.".parse().unwrap(),
        "example.org.".parse().unwrap(),
    ];
    let Some(zone) = origins
        .iter()
        .find(|o| m.questions[0].name.is_subdomain_of(o))
    else {
        return m;
    };
    let leaves = m
        .answers
        .iter()
        .any(|r| matches!(&r.data, RData::Cname(t) if !t.is_subdomain_of(zone)));
    if leaves {
        m.answers.retain(|r| r.name.is_subdomain_of(zone));
        m.authority.clear();
        m.additional.clear();
        m.set_rcode(Rcode::NOERROR);
    }
    m
}

/// Asks both servers every question (with DNSSEC OK and EDNS always when
/// `dnssec_ok`); returns the differences. With `cross_zone_chase` false, the
/// peer is compared with [`within_question_zone`] of our answer.
fn compare(
    peer_name: &str,
    ours: &Server,
    peer: &Server,
    cross_zone_chase: bool,
    dnssec_ok: bool,
) -> Vec<String> {
    wait_up(ours.port);
    wait_up(peer.port);
    let mut differences = Vec::new();
    for &(name, qtype, edns) in QUESTIONS {
        let edns = if dnssec_ok {
            Some(edns.unwrap_or(1232))
        } else {
            edns
        };
        let a = ask(ours.port, name, qtype, edns, dnssec_ok).expect("we answer");
        let a = if cross_zone_chase {
            a
        } else {
            within_question_zone(a)
        };
        let b = ask(peer.port, name, qtype, edns, dnssec_ok)
            .unwrap_or_else(|| panic!("{peer_name} answers"));
        assert_eq!(a.questions, b.questions, "question echoed as asked");
        let (sa, sb) = (summary(&a), summary(&b));
        if sa != sb {
            differences.push(format!(
                "{name} {qtype} edns={edns:?}\n--- ours\n{sa}\n--- {peer_name}\n{sb}"
            ));
        }
    }
    differences
}

/// Makes sure the peer really is `who`, not us on a reused port.
fn assert_identity(port: u16, who: &str) {
    let version = ask_class(port, "version.server.", Type::TXT, Class::CH)
        .expect("CH TXT version.server answered");
    assert!(
        version.answers.iter().any(|r| r.to_string().contains(who)),
        "{version:?}"
    );
}

/// Fails listing every difference [`compare`] found, if any.
fn assert_no_differences(differences: &[String]) {
    assert!(
        differences.is_empty(),
        "{} of {} answers differ:\n{}",
        differences.len(),
        QUESTIONS.len(),
        differences.join("\n\n")
    );
}

/// A peer server to compare with.
struct Peer {
    /// Its name in messages.
    name: &'static str,
    /// The program that must be installed (and its Debian package).
    program: &'static str,
    package: &'static str,
    /// What its CH TXT version.server answer contains.
    identity: &'static str,
    /// Starts it on the zones in a directory.
    start: fn(&Path) -> Option<Server>,
    /// Whether it follows CNAME/DNAME chains into other zones it serves.
    cross_zone_chase: bool,
}

/// Serves the test zones from us and from `peer`, asks both every
/// question and fails listing every difference; skips if the peer is absent.
fn differential(peer: Peer) {
    if !have(peer.program) {
        println!(
            "SKIP: {} is not installed (apt-get install {})",
            peer.program, peer.package
        );
        return;
    }
    let dir = ZoneDir::new(
        peer.name,
        &[
            ("example.com.zone", EXAMPLE_COM),
            ("example.org.zone", EXAMPLE_ORG),
        ],
    );
    let ours = start_appliance(dir.path());
    let Some(theirs) = (peer.start)(dir.path()) else {
        println!("SKIP: {} did not start", peer.program);
        return;
    };
    let differences = compare(peer.name, &ours, &theirs, peer.cross_zone_chase, false);
    assert_identity(theirs.port, peer.identity);
    assert_no_differences(&differences);
}

#[test]
fn answers_match_nsd() {
    differential(Peer {
        name: "nsd",
        program: "nsd",
        package: "nsd",
        identity: "NSD",
        start: start_nsd,
        cross_zone_chase: true,
    });
}

fn start_knot(dir: &Path) -> Option<Server> {
    support::start_knot(
        dir,
        free_port(),
        "  version: \"Knot DNS\"\n",
        "critical",
        &knot_zones(dir, &TEST_ZONES),
        Stdio::null(),
    )
}

#[test]
fn answers_match_knot() {
    // Knot follows CNAME and DNAME chains only inside the zone of the
    // question; we, like NSD, follow them into every zone we serve (RFC 1034
    // §4.3.2 allows both).
    differential(Peer {
        name: "knot",
        program: "knotd",
        package: "knot",
        identity: "Knot",
        start: start_knot,
        cross_zone_chase: false,
    });
}

/// Signs `zone` (for example.com) with a fresh Ed25519 key using ldns,
/// with `chain_args` choosing NSEC or NSEC3; `None` when the ldns tools
/// are missing.
fn sign(tag: &str, zone: &str, chain_args: &[&str]) -> Option<String> {
    if !have("ldns-keygen") || !have("ldns-signzone") {
        return None;
    }
    let work = ZoneDir::new(&format!("{tag}-keys"), &[("example.com.zone", zone)]);
    Some(support::sign_zone(work.path(), chain_args))
}

/// Compares signed answers (DNSSEC OK) with NSD's.
fn signed_differential(tag: &str, chain_args: &[&str]) {
    if !have("nsd") {
        println!("SKIP: nsd is not installed (apt-get install nsd)");
        return;
    }
    let Some(signed) = sign(tag, EXAMPLE_COM, chain_args) else {
        println!("SKIP: ldns-keygen/ldns-signzone are not installed (apt-get install ldnsutils)");
        return;
    };
    let dir = ZoneDir::new(
        tag,
        &[
            ("example.com.zone", &signed),
            ("example.org.zone", EXAMPLE_ORG),
        ],
    );
    let ours = start_appliance(dir.path());
    let Some(nsd) = start_nsd(dir.path()) else {
        println!("SKIP: nsd did not start");
        return;
    };
    let differences = compare("nsd", &ours, &nsd, true, true);
    assert_identity(nsd.port, "NSD");
    let signed_answer = ask(ours.port, "www.example.com.", Type::A, Some(1232), true).unwrap();
    assert!(
        signed_answer
            .answers
            .iter()
            .any(|r| r.rtype() == Type::RRSIG),
        "the comparison covered signatures"
    );
    assert_no_differences(&differences);
}

#[test]
fn nsec_signed_answers_match_nsd() {
    signed_differential("nsd-nsec", &[]);
}

#[test]
fn nsec3_signed_answers_match_nsd() {
    signed_differential("nsd-nsec3", &["-n", "-s", "ABCDEF", "-t", "3"]);
}
