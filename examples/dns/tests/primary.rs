//! The appliance as a primary on 127.0.0.1: zone transfers with `dig`,
//! dynamic updates with `nsupdate` (Debian `dnsutils`), both with TSIG
//! keys, refusals that change nothing, and Knot (`knotd`, Debian `knot`)
//! as a secondary that transfers the zone, answers as we do and follows a
//! NOTIFY. Each test prints `SKIP:` when a tool is missing.

mod support;

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mirage_testkit::ports;
use mirage_testkit::tools::have;
use support::{Server, ZoneDir, free_port, start_appliance_with};

const ZONE: &str = "$ORIGIN example.com.
$TTL 300
@     SOA   ns1 hostmaster 2024010101 7200 3600 1209600 60
@     NS    ns1
ns1   A     127.0.0.1
www   A     192.0.2.80
www   AAAA  2001:db8::80
mail  MX    10 www
text  TXT   \"hello world\"
";

const SECRET: &str = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
const XFR: &str = "hmac-sha256:xfr.key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
const UPD: &str = "hmac-sha512:upd.key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";

fn wait_tcp(port: u16) {
    assert!(
        ports::wait_for_tcp((Ipv4Addr::LOCALHOST, port), Duration::from_secs(20)),
        "server on {port} did not start"
    );
}

fn start_primary(dir: &Path, extra: &[&str]) -> Server {
    let mut args: Vec<String> = [
        "--tsig-key",
        XFR,
        "--tsig-key",
        UPD,
        "--allow-transfer",
        "key:xfr.key",
        "--allow-update",
        "key:upd.key",
        "--write-back",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let server = start_appliance_with(dir, "dir", &args);
    wait_tcp(server.port);
    server
}

fn dig(port: u16, args: &[&str]) -> String {
    let out = Command::new("dig")
        .args(["@127.0.0.1", "-p", &port.to_string(), "+time=3", "+tries=1"])
        .args(args)
        .output()
        .expect("dig runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The records of a dig answer or transfer, one per line, white space
/// normalised, TSIG records left out.
fn records(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.contains(" TSIG "))
        .collect()
}

fn serial(port: u16) -> String {
    dig(port, &["+short", "example.com", "SOA"])
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .to_string()
}

/// Runs nsupdate with `key` (if any) and the commands; returns its exit
/// status success and its output.
fn nsupdate(port: u16, key: Option<&str>, commands: &str) -> (bool, String) {
    let mut cmd = Command::new("nsupdate");
    if let Some(k) = key {
        cmd.args(["-y", k]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nsupdate runs");
    let script = format!("server 127.0.0.1 {port}\nzone example.com\n{commands}\nsend\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn axfr_and_ixfr_with_tsig() {
    if !have("dig") {
        println!("SKIP: dig is not installed (apt-get install dnsutils)");
        return;
    }
    let dir = ZoneDir::new("primary-xfr", &[("example.com.zone", ZONE)]);
    let p = start_primary(dir.path(), &[]);
    let key = format!("-y{XFR}");

    let out = dig(p.port, &[&key, "example.com", "AXFR"]);
    let got = records(&out);
    assert_eq!(got.len(), 8, "{out}");
    assert!(got[0].contains("SOA") && got[7].contains("SOA"), "{out}");
    assert!(
        got.contains(&"www.example.com. 300 IN AAAA 2001:db8::80".to_string()),
        "{out}"
    );
    assert!(
        got.contains(&"text.example.com. 300 IN TXT \"hello world\"".to_string()),
        "{out}"
    );
    assert!(
        out.contains("TSIG\thmac-sha256.") || out.contains("TSIG hmac-sha256."),
        "{out}"
    );
    assert!(!out.contains("failed"), "{out}");

    // Without a key, with a wrong secret, with an unknown key: no zone.
    let out = dig(p.port, &["example.com", "AXFR"]);
    assert!(
        out.contains("Transfer failed") && records(&out).is_empty(),
        "{out}"
    );
    let out = dig(
        p.port,
        &[
            "-yhmac-sha256:xfr.key:d3Jvbmd3cm9uZw==",
            "example.com",
            "AXFR",
        ],
    );
    assert!(out.contains("BADSIG") && !out.contains(" SOA "), "{out}");
    let out = dig(
        p.port,
        &[
            &format!("-yhmac-sha256:other.key:{SECRET}"),
            "example.com",
            "AXFR",
        ],
    );
    assert!(out.contains("BADKEY") && !out.contains(" SOA "), "{out}");
    // The update key is valid but not allowed to transfer.
    let out = dig(p.port, &[&format!("-y{UPD}"), "example.com", "AXFR"]);
    assert!(
        out.contains("Transfer failed") && !out.contains(" SOA "),
        "{out}"
    );

    // Two updates, then IXFR from each older serial.
    if !have("nsupdate") {
        println!("SKIP: nsupdate is not installed (apt-get install dnsutils); IXFR not checked");
        return;
    }
    let (ok, out) = nsupdate(
        p.port,
        Some(UPD),
        "update add new.example.com 60 A 192.0.2.9",
    );
    assert!(ok, "{out}");
    let (ok, out) = nsupdate(p.port, Some(UPD), "update delete www.example.com AAAA");
    assert!(ok, "{out}");
    assert_eq!(serial(p.port), "2024010103");
    let out = dig(p.port, &[&key, "example.com", "IXFR=2024010101"]);
    let got = records(&out);
    let soa = |s: u32| {
        format!(
            "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. {s} 7200 3600 1209600 60"
        )
    };
    assert_eq!(
        got,
        vec![
            soa(2024010103),
            soa(2024010101),
            soa(2024010102),
            "new.example.com. 60 IN A 192.0.2.9".to_string(),
            soa(2024010102),
            "www.example.com. 300 IN AAAA 2001:db8::80".to_string(),
            soa(2024010103),
            soa(2024010103),
        ],
        "{out}"
    );
    let got = records(&dig(p.port, &[&key, "example.com", "IXFR=2024010102"]));
    assert_eq!(got.len(), 5, "{got:?}");
    // Up to date: the SOA alone. Unknown serial: a full transfer.
    let got = records(&dig(p.port, &[&key, "example.com", "IXFR=2024010103"]));
    assert_eq!(got, vec![soa(2024010103)]);
    let got = records(&dig(p.port, &[&key, "example.com", "IXFR=2000000000"]));
    assert_eq!(got.len(), 8, "{got:?}");
    assert!(got.contains(&"new.example.com. 60 IN A 192.0.2.9".to_string()));
    // IXFR needs the transfer key as well.
    let out = dig(p.port, &["example.com", "IXFR=2024010101"]);
    assert!(!out.contains("new.example.com"), "{out}");
}

#[test]
fn multi_message_axfr_is_signed_throughout() {
    if !have("dig") {
        println!("SKIP: dig is not installed (apt-get install dnsutils)");
        return;
    }
    let mut text = ZONE.to_string();
    for i in 0..3000 {
        text.push_str(&format!(
            "host{i} TXT \"host number {i} of a zone that needs many messages\"\n"
        ));
    }
    let dir = ZoneDir::new("primary-big", &[("example.com.zone", &text)]);
    let p = start_primary(dir.path(), &[]);
    {
        let out = dig(p.port, &[&format!("-y{XFR}"), "example.com", "AXFR"]);
        assert_eq!(
            records(&out).len(),
            3008,
            "{}",
            &out[out.len().saturating_sub(2000)..]
        );
        let messages: usize = out
            .lines()
            .find_map(|l| l.strip_prefix(";; XFR size: "))
            .and_then(|l| l.split("messages ").nth(1))
            .and_then(|l| l.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(messages > 5, "{messages} messages");
        assert!(!out.contains("failure") && !out.contains("failed"), "{out}");
    }
}

#[test]
fn nsupdate_with_tsig() {
    if !have("dig") || !have("nsupdate") {
        println!("SKIP: dig or nsupdate is not installed (apt-get install dnsutils)");
        return;
    }
    let dir = ZoneDir::new("primary-update", &[("example.com.zone", ZONE)]);
    let p = start_primary(dir.path(), &[]);
    let short = |name: &str, t: &str| dig(p.port, &["+short", name, t]).trim().to_string();

    let (ok, out) = nsupdate(
        p.port,
        Some(UPD),
        "update add new.example.com 60 A 192.0.2.9\nupdate add new.example.com 60 TXT \"fresh\"",
    );
    assert!(ok, "{out}");
    assert_eq!(short("new.example.com", "A"), "192.0.2.9");
    assert_eq!(short("new.example.com", "TXT"), "\"fresh\"");
    assert_eq!(serial(p.port), "2024010102");
    // Written back to the store as a zone file.
    let file = std::fs::read_to_string(dir.path().join("example.com.zone")).unwrap();
    assert!(
        file.contains("new.example.com. 60 IN A 192.0.2.9"),
        "{file}"
    );
    assert!(file.contains("2024010102"), "{file}");

    // Unsigned, wrongly signed, signed by a key not allowed: refused, nothing changes.
    let (ok, out) = nsupdate(p.port, None, "update add bad.example.com 60 A 192.0.2.66");
    assert!(!ok && out.contains("REFUSED"), "{out}");
    let (ok, out) = nsupdate(
        p.port,
        Some("hmac-sha512:upd.key:d3Jvbmd3cm9uZw=="),
        "update add bad.example.com 60 A 192.0.2.66",
    );
    assert!(!ok, "{out}");
    let (ok, out) = nsupdate(
        p.port,
        Some(XFR),
        "update add bad.example.com 60 A 192.0.2.66",
    );
    assert!(!ok && out.contains("REFUSED"), "{out}");
    let (ok, out) = nsupdate(
        p.port,
        Some(&format!("hmac-sha256:nobody:{SECRET}")),
        "update add bad.example.com 60 A 192.0.2.66",
    );
    assert!(!ok, "{out}");
    assert_eq!(short("bad.example.com", "A"), "");
    assert_eq!(serial(p.port), "2024010102");
    let file = std::fs::read_to_string(dir.path().join("example.com.zone")).unwrap();
    assert!(!file.contains("bad.example.com"), "{file}");

    // A failed prerequisite changes nothing; a met one applies.
    let (ok, out) = nsupdate(
        p.port,
        Some(UPD),
        "prereq nxdomain www.example.com\nupdate add www.example.com 60 A 192.0.2.1",
    );
    assert!(!ok && out.contains("YXDOMAIN"), "{out}");
    let (ok, out) = nsupdate(
        p.port,
        Some(UPD),
        "prereq yxrrset www.example.com A\nupdate delete www.example.com A\nupdate delete new.example.com",
    );
    assert!(ok, "{out}");
    assert_eq!(short("www.example.com", "A"), "");
    assert_eq!(short("www.example.com", "AAAA"), "2001:db8::80");
    assert_eq!(short("new.example.com", "TXT"), "");
    assert_eq!(serial(p.port), "2024010103");
}

fn start_knot_secondary(dir: &Path, port: u16, primary: u16) -> Option<Server> {
    let d = dir.display();
    let log = std::fs::File::create(dir.join("knot.log")).unwrap();
    support::start_knot(
        dir,
        port,
        "",
        "info",
        &format!(
            "key:\n  - id: xfr.key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             remote:\n  - id: primary\n    address: 127.0.0.1@{primary}\n    key: xfr.key\n\
             acl:\n  - id: notify\n    address: 127.0.0.0/8\n    key: xfr.key\n    action: notify\n\
             zone:\n  - domain: example.com\n    master: primary\n    acl: notify\n    file: \"{d}/secondary.zone\"\n    zonefile-sync: -1\n"
        ),
        log.into(),
    )
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn knot_as_secondary() {
    if !have("dig") || !have("nsupdate") || !have("knotd") {
        println!("SKIP: dig, nsupdate or knotd is not installed (apt-get install dnsutils knot)");
        return;
    }
    let dir = ZoneDir::new("primary-knot", &[("example.com.zone", ZONE)]);
    let knot_dir = ZoneDir::new("primary-knot-secondary", &[]);
    let knot_port = free_port();
    let notify = format!("127.0.0.1:{knot_port}");
    let p = start_primary(
        dir.path(),
        &["--notify", &notify, "--notify-key", "xfr.key"],
    );
    let Some(k) = start_knot_secondary(knot_dir.path(), knot_port, p.port) else {
        println!("SKIP: knotd would not start");
        return;
    };
    let log = || std::fs::read_to_string(knot_dir.path().join("knot.log")).unwrap_or_default();
    wait_until("Knot to transfer the zone", || {
        serial(k.port) == "2024010101"
    });
    for (name, t) in [
        ("example.com", "SOA"),
        ("example.com", "NS"),
        ("www.example.com", "A"),
        ("www.example.com", "AAAA"),
        ("mail.example.com", "MX"),
        ("text.example.com", "TXT"),
        ("nope.example.com", "A"),
        ("www.example.com", "TXT"),
    ] {
        let ours = records(&dig(
            p.port,
            &["+norec", "+noall", "+answer", "+authority", name, t],
        ));
        let theirs = records(&dig(
            k.port,
            &["+norec", "+noall", "+answer", "+authority", name, t],
        ));
        assert_eq!(ours, theirs, "{name} {t}\n{}", log());
    }
    // An update on the primary reaches Knot through NOTIFY and IXFR,
    // long before the 7200 s refresh.
    let (ok, out) = nsupdate(
        p.port,
        Some(UPD),
        "update add new.example.com 60 A 192.0.2.9",
    );
    assert!(ok, "{out}");
    wait_until("Knot to follow the NOTIFY", || {
        dig(k.port, &["+short", "new.example.com", "A"]).trim() == "192.0.2.9"
    });
    assert_eq!(serial(k.port), "2024010102");
    let l = log();
    assert!(l.contains("IXFR") || l.contains("incremental"), "{l}");
}

#[test]
fn per_zone_transfer_rules() {
    if !have("dig") {
        println!("SKIP: dig is not installed (apt-get install dnsutils)");
        return;
    }
    let org = "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1.example.com. hm.example.com. 7 7200 3600 1209600 60\n@ NS ns1.example.com.\nx A 192.0.2.7\n";
    let dir = ZoneDir::new(
        "primary-per-zone",
        &[("example.com.zone", ZONE), ("example.org.zone", org)],
    );
    let p = start_primary(
        dir.path(),
        &["--allow-transfer", "example.org.=127.0.0.0/8"],
    );
    // example.org: the key for every zone, and unsigned from 127/8.
    let out = dig(p.port, &["example.org", "AXFR"]);
    assert_eq!(records(&out).len(), 4, "{out}");
    let out = dig(p.port, &[&format!("-y{XFR}"), "example.org", "AXFR"]);
    assert_eq!(records(&out).len(), 4, "{out}");
    // example.com: the key only.
    let out = dig(p.port, &["example.com", "AXFR"]);
    assert!(records(&out).is_empty(), "{out}");
    let out = dig(p.port, &[&format!("-y{XFR}"), "example.com", "AXFR"]);
    assert_eq!(records(&out).len(), 8, "{out}");
}
