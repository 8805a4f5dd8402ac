//! Conformance with a real resolver tool: runs the built appliance on the
//! host socket stack at 127.0.0.1 and asks it questions with `dig`
//! (Debian package `dnsutils`). Skips, saying so, when `dig` is absent.

mod support;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use mirage_testkit::{ports, tools};
use support::{Server, ZoneDir, start_appliance};

const ZONE: &str = concat!(
    r#"$TTL 300
@        SOA   ns1 hostmaster 2024010101 7200 3600 1209600 60
@        NS    ns1
ns1      A     192.0.2.53
www      A     192.0.2.80
www      AAAA  2001:db8::80
alias    CNAME www
*.wild   A     192.0.2.99
sub      NS    ns.sub
ns.sub   A     192.0.2.54
"#,
    mirage_testkit::big_txt_records!()
);

struct Appliance {
    server: Server,
    _dir: ZoneDir,
}

impl Appliance {
    fn start() -> Appliance {
        let dir = ZoneDir::new("dig", &[("example.com.zone", ZONE)]);
        let server = start_appliance(dir.path());
        let port = server.port;
        // Wait until it answers over TCP.
        assert!(
            ports::wait_for_tcp((Ipv4Addr::LOCALHOST, port), Duration::from_secs(20)),
            "the appliance never listened on port {port}"
        );
        Appliance { server, _dir: dir }
    }

    fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("dig")
            .args([
                "@127.0.0.1",
                "-p",
                &self.server.port.to_string(),
                "+norec",
                "+time=3",
                "+tries=2",
            ])
            .args(args)
            .output()
            .expect("dig runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The flags dig printed, e.g. `["qr", "aa"]`.
fn flags(out: &str) -> Vec<String> {
    let line = out
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .unwrap_or_else(|| panic!("no flags line in:\n{out}"));
    line[";; flags:".len()..]
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Whether `out` contains `needle`, comparing with all runs of white space as one space.
fn has(out: &str, needle: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    norm(out).contains(&norm(needle))
}

#[test]
fn dig_conformance() {
    if !tools::have("dig") {
        println!("SKIP: dig is not installed (apt-get install dnsutils)");
        return;
    }
    let a = Appliance::start();

    // UDP: an authoritative answer, question case echoed.
    let out = a.dig(&["WWW.example.COM", "A"]);
    assert!(has(&out, "status: NOERROR"), "{out}");
    assert!(flags(&out).contains(&"aa".to_string()), "{out}");
    assert!(
        has(&out, "WWW.example.COM.\t300\tIN\tA\t192.0.2.80"),
        "{out}"
    );

    // TCP.
    let out = a.dig(&["+tcp", "www.example.com", "AAAA"]);
    assert!(has(&out, "2001:db8::80"), "{out}");

    // CNAME chased.
    let out = a.dig(&["alias.example.com", "A"]);
    assert!(
        has(&out, "CNAME\twww.example.com.") && has(&out, "192.0.2.80"),
        "{out}"
    );

    // Wildcard.
    let out = a.dig(&["anything.wild.example.com", "A"]);
    assert!(
        has(&out, "anything.wild.example.com. 300 IN A 192.0.2.99"),
        "{out}"
    );

    // NXDOMAIN with the SOA at the negative TTL (min(300, 60)).
    let out = a.dig(&["nope.example.com", "A"]);
    assert!(has(&out, "status: NXDOMAIN"), "{out}");
    assert!(has(&out, "example.com. 60 IN SOA"), "{out}");

    // Referral: no aa, NS in authority, glue.
    let out = a.dig(&["host.sub.example.com", "A"]);
    assert!(!flags(&out).contains(&"aa".to_string()), "{out}");
    assert!(
        has(&out, "AUTHORITY: 1") && has(&out, "192.0.2.54"),
        "{out}"
    );

    // Outside our zones.
    assert!(has(&a.dig(&["example.net", "A"]), "status: REFUSED"));

    // Truncation: 512 bytes without EDNS, and with a small EDNS buffer.
    let out = a.dig(&["+ignore", "+noedns", "big.example.com", "TXT"]);
    assert!(flags(&out).contains(&"tc".to_string()), "{out}");
    let out = a.dig(&["+ignore", "+bufsize=512", "big.example.com", "TXT"]);
    assert!(flags(&out).contains(&"tc".to_string()), "{out}");
    // A big enough buffer gets the whole answer over UDP.
    let out = a.dig(&["+ignore", "+bufsize=4096", "big.example.com", "TXT"]);
    assert!(
        !flags(&out).contains(&"tc".to_string()) && has(&out, "ANSWER: 6"),
        "{out}"
    );
    assert!(
        has(&out, "udp: 1232"),
        "our EDNS payload size is advertised: {out}"
    );
    // dig retries a truncated answer over TCP by itself.
    let out = a.dig(&["+noedns", "big.example.com", "TXT"]);
    assert!(has(&out, "ANSWER: 6"), "{out}");

    // Unknown EDNS version.
    let out = a.dig(&["+edns=1", "+noednsneg", "www.example.com", "A"]);
    assert!(has(&out, "status: BADVERS"), "{out}");
}
