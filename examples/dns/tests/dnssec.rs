//! DNSSEC with a validating client: a zone signed by `ldns-signzone`
//! (with an NSEC chain, then with an NSEC3 chain)
//! (Debian `ldnsutils`) served by the built appliance, and `delv`
//! (Debian `dnsutils`) validating its answers, positive and negative,
//! against the zone's key as trust anchor. Skips, saying so, without them.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn run(dir: &std::path::Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Signs the zone with `ldns-signzone` and `chain_args`, serves it and has
/// `delv` validate every case.
fn validate(tag: &str, chain_args: &[&str]) {
    for (tool, arg, package) in [
        ("delv", "-v", "dnsutils"),
        ("ldns-keygen", "-v", "ldnsutils"),
        ("ldns-signzone", "-v", "ldnsutils"),
    ] {
        if !have(tool, arg) {
            println!("SKIP: {tool} is not installed (apt-get install {package})");
            return;
        }
    }
    // Sign the zone in a work directory; serve the signed text from another.
    let work = ZoneDir::new(&format!("{tag}-keys"), &[("example.com.zone", ZONE)]);
    let key = run(
        work.path(),
        "ldns-keygen",
        &["-a", "ED25519", "-k", "example.com"],
    );
    let key = key.trim();
    let mut args = chain_args.to_vec();
    args.extend(["-o", "example.com.", "example.com.zone", key]);
    run(work.path(), "ldns-signzone", &args);
    let signed = std::fs::read_to_string(work.path().join("example.com.zone.signed")).unwrap();
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
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err() {
        assert!(Instant::now() < deadline, "the appliance never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
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
