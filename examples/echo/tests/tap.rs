//! The echo appliance on mirage-net over a TAP device, reached from a
//! network namespace made here. Needs root and `ip` (iproute2); skips
//! otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mirage_testkit::netns::{self, TapNamespace, in_namespace};
use mirage_testkit::process::ChildGuard;
use mirage_testkit::tools;

const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 9, 1);
const APP_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 9, 2);

#[test]
fn echoes_over_mirage_net_on_a_tap_device() {
    if let Some(why) = netns::unsupported() {
        println!("SKIP: {why}");
        return;
    }
    // Removes the namespace and device however the test ends.
    let net = TapNamespace::named("mirage-echo", "etap");
    let (ns, dev) = (net.ns.clone(), net.dev.clone());
    net.add_tap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_echo"))
        .args([
            "--net",
            &format!("tap:{dev}"),
            "--ipv4",
            &format!("{APP_IP}/24"),
        ])
        .args(["--port", "7", "--log-level", "info"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the echo binary starts");
    // Wait until it has attached to the device, then move the host side.
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("echo: {line}");
            let _ = tx.send(line);
        }
    });
    // Stops the appliance before the namespace and device go.
    let mut appliance = ChildGuard::new(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the appliance reports its device");
        if line.contains(&format!("{dev}: MAC")) {
            break;
        }
    }
    net.move_host_side(&format!("{HOST_IP}/24"));

    let app = SocketAddr::from((APP_IP, 7));
    in_namespace(&ns, || {
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 249) as u8).collect();
        let mut s = (0..20)
            .find_map(|_| {
                TcpStream::connect_timeout(&app, Duration::from_secs(1))
                    .map_err(|_| std::thread::sleep(Duration::from_millis(200)))
                    .ok()
            })
            .expect("connect to the appliance");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&payload).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        assert!(back == payload, "TCP echo over mirage-net differs");

        let u = UdpSocket::bind((HOST_IP, 0)).unwrap();
        u.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 64];
        let got = (0..20).find_map(|_| {
            u.send_to(b"datagram", app).unwrap();
            u.recv_from(&mut buf).ok()
        });
        let (n, from) = got.expect("a UDP echo");
        assert_eq!((&buf[..n], from), (&b"datagram"[..], app));
    });

    let status = appliance
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(10))
        .expect("the appliance ignored SIGTERM");
    assert!(status.success());
}

#[test]
fn without_cap_net_admin_the_tap_is_refused_with_a_clear_message() {
    if let Some(why) = netns::unsupported() {
        println!("SKIP: {why}");
        return;
    }
    if !tools::have("setpriv") {
        println!("SKIP: `setpriv` (util-linux) is not installed");
        return;
    }
    let dev = format!("ntap{}", std::process::id() % 100_000);
    let out = Command::new("setpriv")
        .args(["--bounding-set=-net_admin", "--inh-caps=-net_admin"])
        .arg(env!("CARGO_BIN_EXE_echo"))
        .args(["--net", &format!("tap:{dev}"), "--port", "7"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("CAP_NET_ADMIN"), "{err}");
    let _ = Command::new("ip").args(["link", "del", &dev]).output();
}
