//! Our stack on a TAP device against the Linux kernel, in a network
//! namespace made (and removed) here: Linux pings us over IPv4 and IPv6,
//! reaches a TCP echo with `nc`, an HTTP responder with `curl`, and a UDP
//! echo with `nc -u`. Needs root, `ip`, `ping`, `nc` (OpenBSD) and `curl`;
//! skips with a printed reason otherwise.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output, Stdio};

use mirage_core::{Stack as _, TcpFlow as _, TcpListener as _, UdpSocket as _};
use mirage_net::{Config, Ipv6Config, Stack, StaticIpv6};
use mirage_unix::{OsRandom, SystemClock, Tap};

const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 9, 1);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 9, 2);
const HOST_IP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const OUR_IP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const BODY: &str = "hello from mirage-net\n";

/// Why this host cannot run the test, if it cannot.
fn unsupported() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root for TAP devices and network namespaces".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    for (tool, arg) in [
        ("ip", "-V"),
        ("ping", "-V"),
        ("curl", "--version"),
        ("nc", "-h"),
    ] {
        if Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
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

/// Runs `cmd` inside namespace `ns` on a blocking thread, feeding `input`.
async fn in_ns(ns: &str, cmd: &[&str], input: &[u8]) -> Output {
    let mut args = vec!["netns".to_owned(), "exec".to_owned(), ns.to_owned()];
    args.extend(cmd.iter().map(|s| s.to_string()));
    let input = input.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("ip")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ip netns exec");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&input).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join")
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn tcp_echo(stack: Stack) {
    let l = stack
        .tcp_listen("0.0.0.0:7".parse().unwrap())
        .await
        .unwrap();
    loop {
        let mut f = l.accept().await.unwrap();
        tokio::task::spawn_local(async move {
            let mut buf = [0u8; 4096];
            loop {
                match f.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if f.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = f.close().await;
        });
    }
}

async fn http(stack: Stack) {
    let l = stack.tcp_listen("[::]:80".parse().unwrap()).await.unwrap();
    loop {
        let mut f = l.accept().await.unwrap();
        tokio::task::spawn_local(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match f.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                BODY.len()
            );
            let _ = f.write_all(resp.as_bytes()).await;
            let _ = f.close().await;
        });
    }
}

async fn udp_echo(stack: Stack) {
    let s = stack.udp_bind("0.0.0.0:7".parse().unwrap()).await.unwrap();
    let mut buf = [0u8; 1500];
    loop {
        let (n, from) = s.recv_from(&mut buf).await.unwrap();
        s.send_to(&buf[..n], from).await.unwrap();
    }
}

#[test]
fn linux_reaches_our_stack_over_tap() {
    if let Some(why) = unsupported() {
        println!("SKIP: {why}");
        return;
    }
    let id = std::process::id() % 100_000;
    let guard = Cleanup {
        ns: format!("mirage-net-{id}"),
        dev: format!("mnet{id}"),
    };
    let (ns, dev) = (guard.ns.as_str(), guard.dev.as_str());
    ip(&["tuntap", "add", "dev", dev, "mode", "tap"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, async {
        let tap = Tap::open(dev).expect("attach to the TAP device");
        ip(&["netns", "add", ns]);
        ip(&["link", "set", dev, "netns", ns]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{HOST_IP}/24"),
            "dev",
            dev,
        ]);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{HOST_IP6}/64"),
            "dev",
            dev,
            "nodad",
        ]);
        ip(&["-n", ns, "link", "set", dev, "up"]);

        let config = Config::ipv4_static(OUR_IP, 24, Some(HOST_IP)).with_ipv6(Ipv6Config::Static(
            StaticIpv6 {
                address: OUR_IP6,
                prefix_len: 64,
                gateway: None,
            },
        ));
        let random = OsRandom::new().expect("OS random source");
        let (stack, runner) = Stack::new(tap, SystemClock::new(), random, config).unwrap();
        tokio::task::spawn_local(runner.run());
        tokio::task::spawn_local(tcp_echo(stack.clone()));
        tokio::task::spawn_local(http(stack.clone()));
        tokio::task::spawn_local(udp_echo(stack.clone()));

        let ours = OUR_IP.to_string();
        let o = in_ns(ns, &["ping", "-c", "3", "-i", "0.2", "-W", "2", &ours], b"").await;
        assert!(
            o.status.success(),
            "ping {ours}: {}\n{:?}",
            show(&o),
            stack.counters()
        );
        let ours6 = OUR_IP6.to_string();
        let o = in_ns(
            ns,
            &["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", &ours6],
            b"",
        )
        .await;
        assert!(o.status.success(), "ping -6 {ours6}: {}", show(&o));

        let o = in_ns(ns, &["nc", "-N", "-w", "5", &ours, "7"], b"echo me\n").await;
        assert_eq!(o.stdout, b"echo me\n", "TCP echo: {}", show(&o));

        let o = in_ns(
            ns,
            &["curl", "-s", "--max-time", "10", &format!("http://{ours}/")],
            b"",
        )
        .await;
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            BODY,
            "curl: {}",
            show(&o)
        );
        let url6 = format!("http://[{ours6}]/");
        let o = in_ns(ns, &["curl", "-s", "-g", "--max-time", "10", &url6], b"").await;
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            BODY,
            "curl -6: {}",
            show(&o)
        );

        let o = in_ns(ns, &["nc", "-u", "-w", "1", &ours, "7"], b"udp hi\n").await;
        assert_eq!(o.stdout, b"udp hi\n", "UDP echo: {}", show(&o));

        let c = stack.counters();
        assert!(c.frames_rx >= 10 && c.frames_tx >= 10, "{c:?}");
        assert!(c.tcp_accepted >= 3, "{c:?}");
        println!("counters after the Linux peer test: {c:?}");
        // Idle, the runner sleeps on its timers: a busy loop would poll
        // hundreds of thousands of times a second.
        let before = stack.counters().polls;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let idle = stack.counters().polls - before;
        assert!(idle < 200, "{idle} polls in an idle second");
    });
    drop(rt);
    drop(guard);
    let left = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&left.stdout).contains(&format!("mirage-net-{id}")),
        "namespace removed"
    );
}
