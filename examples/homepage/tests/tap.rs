//! The appliance on our own TCP/IP stack (mirage-net) over a TAP device,
//! questioned by `dig` and `curl` from a network namespace made here.
//! Needs root (CAP_NET_ADMIN), `/dev/net/tun` and `ip`; skips otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const HOST_IP: &str = "10.213.9.1";
const GUEST_IP: &str = "10.213.9.2";

fn unsupported() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("needs root for TAP devices and network namespaces".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    if !have("ip") {
        return Some("`ip` (iproute2) is not installed".into());
    }
    missing_tools()
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// Removes the namespace and the device however the test ends.
struct Cleanup {
    ns: String,
    dev: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        let _ = Command::new("ip").args(["link", "del", &self.dev]).output();
    }
}

fn in_ns(ns: &str, cmd: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .output()
        .expect("ip netns exec");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn serves_dns_and_http_over_tap_on_our_own_stack() {
    if let Some(why) = unsupported() {
        println!("SKIP: {why}");
        return;
    }
    let id = std::process::id() % 100_000;
    let guard = Cleanup {
        ns: format!("homepage-tap-{id}"),
        dev: format!("hptap{id}"),
    };
    let (ns, dev) = (guard.ns.as_str(), guard.dev.as_str());
    let tmp = std::env::temp_dir().join(format!("homepage-tap-{id}"));
    let bare = make_repository(&tmp).bare;
    ip(&["tuntap", "add", "dev", dev, "mode", "tap"]);

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
    ip(&["netns", "add", ns]);
    ip(&["link", "set", dev, "netns", ns]);
    ip(&[
        "-n",
        ns,
        "addr",
        "add",
        &format!("{HOST_IP}/24"),
        "dev",
        dev,
    ]);
    ip(&["-n", ns, "link", "set", dev, "up"]);
    ip(&["-n", ns, "link", "set", "lo", "up"]);

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
        in_ns(ns, &cmd)
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
        ns,
        &[
            "curl",
            "-s",
            "--max-time",
            "5",
            &format!("http://{GUEST_IP}/"),
        ],
    );
    assert_eq!(page, "<h1>first</h1>", "HTTP over our stack");
    let ping = Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-c", "1", "-W", "2", GUEST_IP])
        .output()
        .map(|o| o.status.success());
    if let Ok(answered) = ping {
        assert!(answered, "our stack answers ping");
    }
    drop(appliance);
    drop(guard);
    let _ = std::fs::remove_dir_all(&tmp);
}
