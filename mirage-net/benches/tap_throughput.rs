//! TCP throughput into our stack over a TAP device, against the Linux
//! kernel's own stack doing the same job over a veth pair, printed as a
//! ratio.
//!
//! A Linux `nc` in a network namespace sends 256 MiB of zeros to a sink
//! that discards them: mirage-net on a TAP device (this process, release
//! build), or Linux's `nc -l` in a second namespace at the far end of a
//! veth pair. Then mirage-net sends 256 MiB to Linux's `nc -l` over the TAP
//! device. Each mirage-net direction is compared with Linux to Linux. Needs root, `ip` and OpenBSD
//! `nc`; prints `SKIP: <reason>` otherwise.
//!
//! Each side runs three times and the best time counts.
//!
//! Run with `cargo bench -p mirage-net --bench tap_throughput`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mirage_core::{Stack as _, TcpFlow as _, TcpListener as _};
use mirage_net::{Config, Ipv6Config, Stack, TcpOptions};
use mirage_testkit::netns::{self, Cleanup, TapNamespace, ip};
use mirage_testkit::runtime::block_on;
use mirage_unix::{OsRandom, SystemClock, Tap};

const MIB: usize = 256;
const RUNS: u32 = 3;

/// Sends `MIB` MiB from namespace `ns` to `addr:9`; returns the time taken.
fn send_from(ns: &str, addr: &str) -> Duration {
    let script = format!("head -c {}M /dev/zero | nc -N {addr} 9", MIB);
    let start = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", &script])
        .output()
        .expect("run the sender");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "sender failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// mirage-net receiving, then sending, over TAP: the receive time, the
/// bytes received and the send time.
fn ours(id: u32) -> (Duration, usize, Duration) {
    // Removes the namespace and the device however the run ends.
    let net = TapNamespace::new(format!("mnb-tap-{id}"), format!("mnbt{id}"));
    let ns = net.ns.clone();
    net.add_tap();
    block_on(async {
        let tap = Tap::open(&net.dev).expect("attach to the TAP device");
        net.move_host_side("10.215.0.1/24");
        let tcp = TcpOptions {
            rx_buffer: 1024 * 1024,
            tx_buffer: 1024 * 1024,
            ..TcpOptions::default()
        };
        let config = Config::ipv4_static("10.215.0.2".parse().unwrap(), 24, None)
            .with_ipv6(Ipv6Config::None)
            .with_tcp(tcp);
        let random = OsRandom::new().expect("OS random source");
        let (stack, runner) = Stack::new(tap, SystemClock::new(), random, config).unwrap();
        tokio::task::spawn_local(runner.run());
        let listener = stack
            .tcp_listen("0.0.0.0:9".parse().unwrap())
            .await
            .unwrap();
        let sink = tokio::task::spawn_local(async move {
            let mut f = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0;
            loop {
                match f.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
            total
        });
        let ns2 = ns.clone();
        let took = tokio::task::spawn_blocking(move || send_from(&ns2, "10.215.0.2"))
            .await
            .unwrap();
        let total = sink.await.unwrap();

        // The other direction: mirage-net sends to Linux's nc -l.
        let ns3 = ns.clone();
        let linux_sink = tokio::task::spawn_blocking(move || {
            Command::new("ip")
                .args(["netns", "exec", &ns3, "nc", "-d", "-l", "10.215.0.1", "9"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .expect("run the Linux sink")
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let chunk = vec![0u8; 256 * 1024];
        let start = Instant::now();
        let mut f = stack
            .tcp_connect("10.215.0.1:9".parse().unwrap())
            .await
            .expect("connect to Linux");
        for _ in 0..MIB * 4 {
            f.write_all(&chunk).await.expect("send to Linux");
        }
        f.close().await.expect("close");
        let sent = start.elapsed();
        linux_sink.await.unwrap();
        (took, total, sent)
    })
}

/// Linux receiving over a veth pair.
fn linux(id: u32) -> Duration {
    let (a, b) = (format!("mnb-la-{id}"), format!("mnb-lb-{id}"));
    let mut cleanup = Cleanup::new();
    cleanup.namespace(&a).namespace(&b);
    ip(&["netns", "add", &a]);
    ip(&["netns", "add", &b]);
    ip(&[
        "-n", &a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b,
    ]);
    ip(&["-n", &a, "addr", "add", "10.216.0.1/24", "dev", "va"]);
    ip(&["-n", &b, "addr", "add", "10.216.0.2/24", "dev", "vb"]);
    ip(&["-n", &a, "link", "set", "va", "up"]);
    ip(&["-n", &b, "link", "set", "vb", "up"]);
    let mut sink = Command::new("ip")
        .args(["netns", "exec", &b, "nc", "-l", "10.216.0.2", "9"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the Linux sink");
    std::thread::sleep(Duration::from_millis(300));
    let took = send_from(&a, "10.216.0.2");
    let _ = sink.wait();
    took
}

fn main() {
    if let Some(why) = netns::unsupported_or_missing(&["nc"]) {
        println!("SKIP: {why}");
        return;
    }
    let id = std::process::id() % 100_000;
    // Best of three runs each: the machine may be busy with other work.
    let mut t_ours = Duration::MAX;
    let mut t_send = Duration::MAX;
    let mut t_linux = Duration::MAX;
    for run in 0..RUNS {
        let (t, total, sent) = ours(id * 10 + run);
        assert_eq!(total, MIB * 1024 * 1024, "every byte arrived");
        t_ours = t_ours.min(t);
        t_send = t_send.min(sent);
        t_linux = t_linux.min(linux(id * 10 + run));
    }
    let mbps = |d: Duration| (MIB * 8 * 1024 * 1024) as f64 / d.as_secs_f64() / 1e6;
    println!(
        "Linux over veth: {:.0} Mbit/s ({:.2} s for {MIB} MiB, best of {RUNS})",
        mbps(t_linux),
        t_linux.as_secs_f64()
    );
    for (what, t) in [("receive", t_ours), ("send", t_send)] {
        println!(
            "mirage-net over TAP, {what}: {:.0} Mbit/s ({:.2} s); ratio mirage-net/Linux = {:.3}",
            mbps(t),
            t.as_secs_f64(),
            t_linux.as_secs_f64() / t.as_secs_f64()
        );
    }
}
