//! The appliance as a secondary on 127.0.0.1: it copies a zone from Knot
//! (`knotd`, Debian `knot`) and from NSD (`nsd`, Debian `nsd`) with a TSIG
//! key, answers from the copy, and follows the primary's NOTIFY after the
//! zone changes. Each test prints `SKIP:` when its tool is missing.

mod support;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mirage_testkit::tools::have;
use support::{Server, ZoneDir, free_port, start_appliance_with};

const SECRET: &str = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";

fn zone(serial: u32, www: &str) -> String {
    format!(
        "$ORIGIN example.net.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 60\n@ NS ns1\nns1 A 127.0.0.1\nwww A {www}\ntext TXT \"copied\"\n"
    )
}

fn dig(port: u16, args: &[&str]) -> String {
    let out = Command::new("dig")
        .args(["@127.0.0.1", "-p", &port.to_string(), "+time=2", "+tries=1"])
        .args(args)
        .output()
        .expect("dig runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn short(port: u16, name: &str, t: &str) -> String {
    dig(port, &["+short", name, t]).trim().to_string()
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts our secondary of example.net. from the primary on `primary`,
/// accepting its NOTIFY signed with the key.
fn start_secondary(dir: &Path, primary: u16) -> Server {
    let args: Vec<String> = [
        "--tsig-key".to_string(),
        format!("hmac-sha256:xfr.key:{SECRET}"),
        "--secondary".to_string(),
        format!("example.net.@127.0.0.1:{primary}/xfr.key"),
        "--allow-notify".to_string(),
        "key:xfr.key".to_string(),
    ]
    .to_vec();
    let s = start_appliance_with(dir, "dir-ro", &args);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, s.port)).is_err() {
        assert!(Instant::now() < deadline, "secondary did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

fn start_knot_primary(dir: &Path, port: u16, secondary: u16) -> Option<Server> {
    let d = dir.display();
    let log = std::fs::File::create(dir.join("knot.log")).unwrap();
    support::start_knot(
        dir,
        port,
        "",
        "info",
        &format!(
            "key:\n  - id: xfr.key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             remote:\n  - id: ours\n    address: 127.0.0.1@{secondary}\n    key: xfr.key\n\
             acl:\n  - id: transfer\n    address: 127.0.0.0/8\n    key: xfr.key\n    action: transfer\n\
             zone:\n  - domain: example.net\n    file: \"{d}/example.net.zone\"\n    notify: ours\n    acl: transfer\n    zonefile-sync: -1\n"
        ),
        log.into(),
    )
}

#[test]
fn secondary_of_knot() {
    if !have("dig") || !have("knotd") || !have("knotc") {
        println!("SKIP: dig, knotd or knotc is not installed (apt-get install dnsutils knot)");
        return;
    }
    let knot_dir = ZoneDir::new(
        "secondary-knot-primary",
        &[("example.net.zone", &zone(1, "192.0.2.1"))],
    );
    let ours_dir = ZoneDir::new("secondary-knot-ours", &[]);
    let knot_port = free_port();
    // Our port must be known to Knot for its NOTIFY: start ours first.
    let ours = start_secondary(ours_dir.path(), knot_port);
    let Some(k) = start_knot_primary(knot_dir.path(), knot_port, ours.port) else {
        println!("SKIP: knotd would not start");
        return;
    };
    wait_until("the first transfer from Knot", 30, || {
        short(ours.port, "www.example.net", "A") == "192.0.2.1"
    });
    assert_eq!(short(ours.port, "text.example.net", "TXT"), "\"copied\"");
    assert_eq!(
        dig(ours.port, &["+noall", "+answer", "example.net", "SOA"])
            .split_whitespace()
            .collect::<Vec<_>>(),
        dig(k.port, &["+noall", "+answer", "example.net", "SOA"])
            .split_whitespace()
            .collect::<Vec<_>>()
    );
    // A new serial on Knot: its NOTIFY brings it over long before the refresh.
    std::fs::write(
        knot_dir.path().join("example.net.zone"),
        zone(2, "192.0.2.2"),
    )
    .unwrap();
    let status = Command::new("knotc")
        .args([
            "-s",
            &knot_dir.path().join("knot.sock").display().to_string(),
            "zone-reload",
            "example.net",
        ])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    wait_until("the NOTIFY-driven transfer", 30, || {
        short(ours.port, "www.example.net", "A") == "192.0.2.2"
    });
    // The primary goes away: the last copy is still served.
    drop(k);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(short(ours.port, "www.example.net", "A"), "192.0.2.2");
}

fn start_nsd_primary(dir: &Path, port: u16, secondary: u16) -> Option<Server> {
    let conf = dir.join("nsd.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  server-count: 1\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  logfile: \"{d}/nsd.log\"\n  verbosity: 2\n\
             remote-control:\n  control-enable: yes\n  control-interface: \"{d}/nsd.ctl\"\n\
             key:\n  name: xfr.key\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n\
             zone:\n  name: example.net\n  zonefile: \"{d}/example.net.zone\"\n  notify: 127.0.0.1@{secondary} xfr.key\n  provide-xfr: 127.0.0.0/8 xfr.key\n"
        ),
    )
    .unwrap();
    let child = Command::new("nsd")
        .args(["-d", "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Server::new(child, port))
}

#[test]
fn secondary_of_nsd() {
    if !have("dig") || !have("nsd") || !have("nsd-control") {
        println!("SKIP: dig, nsd or nsd-control is not installed (apt-get install dnsutils nsd)");
        return;
    }
    let nsd_dir = ZoneDir::new(
        "secondary-nsd-primary",
        &[("example.net.zone", &zone(5, "192.0.2.5"))],
    );
    let ours_dir = ZoneDir::new("secondary-nsd-ours", &[]);
    let nsd_port = free_port();
    let ours = start_secondary(ours_dir.path(), nsd_port);
    let Some(n) = start_nsd_primary(nsd_dir.path(), nsd_port, ours.port) else {
        println!("SKIP: nsd would not start");
        return;
    };
    let log = || std::fs::read_to_string(nsd_dir.path().join("nsd.log")).unwrap_or_default();
    wait_until("NSD to start", 20, || {
        short(n.port, "www.example.net", "A") == "192.0.2.5"
    });
    wait_until("the first transfer from NSD", 30, || {
        short(ours.port, "www.example.net", "A") == "192.0.2.5"
    });
    std::fs::write(
        nsd_dir.path().join("example.net.zone"),
        zone(6, "192.0.2.6"),
    )
    .unwrap();
    let ctl = Command::new("nsd-control")
        .args(["-c"])
        .arg(nsd_dir.path().join("nsd.conf"))
        .args(["reload", "example.net"])
        .output()
        .unwrap();
    assert!(ctl.status.success(), "{ctl:?}\n{}", log());
    wait_until("the NOTIFY-driven transfer from NSD", 30, || {
        short(ours.port, "www.example.net", "A") == "192.0.2.6"
    });
}
