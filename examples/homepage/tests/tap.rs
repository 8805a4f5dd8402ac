//! The appliance on our own TCP/IP stack (mirage-net) over a TAP device,
//! questioned by `dig` and `curl` from a network namespace made here.
//! Needs root (CAP_NET_ADMIN), `/dev/net/tun` and `ip`; skips otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mirage_testkit::netns::{self, TapNamespace};

const HOST_IP: &str = "10.213.9.1";
const GUEST_IP: &str = "10.213.9.2";

/// Runs `cmd` in the namespace; its output, trimmed.
fn in_ns(net: &TapNamespace, cmd: &[&str]) -> String {
    let out = net.exec(cmd).output().expect("ip netns exec");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn serves_dns_and_http_over_tap_on_our_own_stack() {
    if let Some(why) = netns::unsupported_or_missing(&["git", "curl", "dig"]) {
        println!("SKIP: {why}");
        return;
    }
    // Removes the namespace and the device however the test ends.
    let net = TapNamespace::named("homepage-tap", "hptap");
    let dev = net.dev.as_str();
    let dir = TempDir::new("tap");
    let tmp = dir.path();
    let bare = make_repository(tmp).bare;
    net.add_tap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_homepage"))
        .arg("--repo")
        .arg(&bare)
        .args(["--net", &format!("tap:{dev}")])
        .args(["--ipv4", &format!("{GUEST_IP}/24")])
        .args(["--http", &format!("{GUEST_IP}:80")])
        .args(["--dns", &format!("{GUEST_IP}:53")])
        .args(["--poll", "0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tmp.join("appliance.log")).unwrap())
        .spawn()
        .expect("start the appliance");
    let appliance = Appliance {
        log: tmp.join("appliance.log"),
        child: {
            // Wait until the appliance has attached to the device and serves.
            let stdout = child.stdout.take().unwrap();
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines.any(|l| l.is_ok_and(|l| l.contains("HTTP:")));
            assert!(ready, "the appliance did not start");
            std::thread::spawn(move || lines.for_each(drop));
            ChildGuard::new(child)
        },
    };

    // The host side of the link goes into a namespace of its own.
    net.move_host_side(&format!("{HOST_IP}/24"));
    net.loopback_up();

    let started = Instant::now();
    let dig = |args: &[&str]| {
        let mut cmd = vec![
            "dig",
            "+short",
            "+tries=1",
            "+time=2",
            &format!("@{GUEST_IP}"),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        cmd.extend(args.iter().map(|s| s.to_string()));
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        in_ns(&net, &cmd)
    };
    let mut answer = String::new();
    while started.elapsed() < Duration::from_secs(20) {
        answer = dig(&["www.example.com", "A"]);
        if !answer.is_empty() {
            break;
        }
    }
    assert_eq!(
        answer,
        "192.0.2.1",
        "DNS over UDP from the namespace; log: {}",
        std::fs::read_to_string(&appliance.log).unwrap_or_default()
    );
    assert_eq!(
        dig(&["+tcp", "www.example.com", "A"]),
        "192.0.2.1",
        "DNS over TCP"
    );
    let page = in_ns(
        &net,
        &[
            "curl",
            "-s",
            "--max-time",
            "5",
            &format!("http://{GUEST_IP}/"),
        ],
    );
    assert_eq!(page, "<h1>first</h1>", "HTTP over our stack");
    let ping = net
        .exec(&["ping", "-c", "1", "-W", "2", GUEST_IP])
        .output()
        .map(|o| o.status.success());
    if let Ok(answered) = ping {
        assert!(answered, "our stack answers ping");
    }
    drop(appliance);
    drop(net);
    drop(dir);
}
