//! Our stack on a TAP device against the Linux kernel, in a network
//! namespace made (and removed) here: Linux pings us over IPv4 and IPv6,
//! reaches a TCP echo with `nc`, an HTTP responder with `curl`, and a UDP
//! echo with `nc -u`. Needs root, `ip`, `ping`, `nc` (OpenBSD) and `curl`;
//! skips with a printed reason otherwise.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Output, Stdio};

use mirage_core::{Stack as _, TcpFlow as _, TcpListener as _, UdpSocket as _};
use mirage_net::{Config, Ipv6Config, Stack, StaticIpv6};
use mirage_testkit::netns::{self, TapNamespace};
use mirage_testkit::runtime::block_on;
use mirage_unix::{OsRandom, SystemClock, Tap};

const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 9, 1);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 9, 2);
const HOST_IP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const OUR_IP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const BODY: &str = "hello from mirage-net\n";

/// Runs `cmd` inside the namespace on a blocking thread, feeding `input`.
async fn in_ns(net: &TapNamespace, cmd: &[&str], input: &[u8]) -> Output {
    let mut command = net.exec(cmd);
    let input = input.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut child = command
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
    if let Some(why) = netns::unsupported_or_missing(&["ping", "curl", "nc"]) {
        println!("SKIP: {why}");
        return;
    }
    // Removes the namespace and the device however the test ends.
    let net = TapNamespace::named("mirage-net", "mnet");
    let dev = net.dev.as_str();
    net.add_tap();
    block_on(async {
        let tap = Tap::open(dev).expect("attach to the TAP device");
        net.move_into_namespace();
        net.loopback_up();
        net.add_address(&format!("{HOST_IP}/24"));
        net.ip(&[
            "addr",
            "add",
            &format!("{HOST_IP6}/64"),
            "dev",
            dev,
            "nodad",
        ]);
        net.up();

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
        let o = in_ns(
            &net,
            &["ping", "-c", "3", "-i", "0.2", "-W", "2", &ours],
            b"",
        )
        .await;
        assert!(
            o.status.success(),
            "ping {ours}: {}\n{:?}",
            show(&o),
            stack.counters()
        );
        let ours6 = OUR_IP6.to_string();
        let o = in_ns(
            &net,
            &["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", &ours6],
            b"",
        )
        .await;
        assert!(o.status.success(), "ping -6 {ours6}: {}", show(&o));

        let o = in_ns(&net, &["nc", "-N", "-w", "5", &ours, "7"], b"echo me\n").await;
        assert_eq!(o.stdout, b"echo me\n", "TCP echo: {}", show(&o));

        let o = in_ns(
            &net,
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
        let o = in_ns(&net, &["curl", "-s", "-g", "--max-time", "10", &url6], b"").await;
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            BODY,
            "curl -6: {}",
            show(&o)
        );

        let o = in_ns(&net, &["nc", "-u", "-w", "1", &ours, "7"], b"udp hi\n").await;
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
    let ns = net.ns.clone();
    drop(net);
    assert!(!netns::namespace_exists(&ns), "namespace removed");
}
