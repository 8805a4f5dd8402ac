//! DNSSEC with a validating client: a zone signed by `ldns-signzone`
//! (with an NSEC chain, then with an NSEC3 chain)
//! (Debian `ldnsutils`) served by the built appliance, and `delv`
//! (Debian `dnsutils`) validating its answers, positive and negative,
//! against the zone's key as trust anchor. Skips, saying so, without them.

mod support;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use mirage_testkit::ports;
use mirage_testkit::tools::have;
use support::{ZoneDir, start_appliance};

const ZONE: &str = r#"$ORIGIN example.com.
$TTL 300
@         SOA   ns1 hostmaster 2024010101 7200 3600 1209600 60
@         NS    ns1
ns1       A     192.0.2.53
www       A     192.0.2.80
alias     CNAME www
*.wild    A     192.0.2.99
a.b.ent   A     192.0.2.3
sub       NS    ns.sub
ns.sub    A     192.0.2.54
secure    NS    ns.secure
ns.secure A     192.0.2.55
secure    DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
"#;

/// Signs the zone with `ldns-signzone` and `chain_args`, serves it and has
/// `delv` validate every case.
fn validate(tag: &str, chain_args: &[&str]) {
    for (tool, package) in [
        ("delv", "dnsutils"),
        ("ldns-keygen", "ldnsutils"),
        ("ldns-signzone", "ldnsutils"),
    ] {
        if !have(tool) {
            println!("SKIP: {tool} is not installed (apt-get install {package})");
            return;
        }
    }
    // Sign the zone in a work directory; serve the signed text from another.
    let work = ZoneDir::new(&format!("{tag}-keys"), &[("example.com.zone", ZONE)]);
    let signed = support::sign_zone(work.path(), chain_args);
    let chain = if chain_args.contains(&"-n") {
        "NSEC3"
    } else {
        "NSEC"
    };
    assert!(
        signed
            .lines()
            .any(|l| l.split_whitespace().nth(3) == Some(chain)),
        "the zone is signed with {chain}"
    );
    let ksk = signed
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() >= 8 && f[3] == "DNSKEY" && f[4] == "257")
        .map(|f| f[7].to_string())
        .expect("a key-signing key in the signed zone");
    let anchors = work.path().join("anchors.conf");
    std::fs::write(
        &anchors,
        format!("trust-anchors {{ example.com. static-key 257 3 15 \"{ksk}\"; }};\n"),
    )
    .unwrap();
    let zones = ZoneDir::new(&format!("{tag}-zones"), &[("example.com.zone", &signed)]);
    let server = start_appliance(zones.path());
    let port = server.port.to_string();
    assert!(
        ports::wait_for_tcp((Ipv4Addr::LOCALHOST, server.port), Duration::from_secs(20)),
        "the appliance never listened"
    );
    let anchors = anchors.to_str().unwrap();
    let delv = |name: &str, qtype: &str| {
        let out = Command::new("delv")
            .args([
                "@127.0.0.1",
                "-p",
                &port,
                "-a",
                anchors,
                "+root=example.com",
                name,
                qtype,
            ])
            .output()
            .expect("delv runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let cases = [
        ("www.example.com", "A", "; fully validated"),
        ("example.com", "DNSKEY", "; fully validated"),
        ("alias.example.com", "A", "; fully validated"),
        ("x.wild.example.com", "A", "; fully validated"),
        ("a.b.c.wild.example.com", "A", "; fully validated"),
        ("secure.example.com", "DS", "; fully validated"),
        (
            "nope.example.com",
            "A",
            "; negative response, fully validated",
        ),
        (
            "x.ent.example.com",
            "A",
            "; negative response, fully validated",
        ),
        (
            "www.example.com",
            "MX",
            "; negative response, fully validated",
        ),
        (
            "b.ent.example.com",
            "A",
            "; negative response, fully validated",
        ),
        (
            "x.wild.example.com",
            "TXT",
            "; negative response, fully validated",
        ),
        (
            "sub.example.com",
            "DS",
            "; negative response, fully validated",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, qtype, want)| {
            let out = delv(name, qtype);
            (!out.contains(want)).then(|| format!("{tag}: {name} {qtype}: wanted {want:?}\n{out}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn delv_validates_nsec_signed_answers() {
    validate("nsec", &[]);
}

#[test]
fn delv_validates_nsec3_signed_answers() {
    validate("nsec3", &["-n", "-s", "ABCDEF", "-t", "3"]);
}
