//! Runs the built echo appliance on the host socket stack and talks to it
//! over 127.0.0.1 with ordinary std sockets.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};

use mirage_testkit::ports::free_port;
use mirage_testkit::process::ChildGuard;
use std::time::{Duration, Instant};

/// The appliance on the host socket stack, killed and reaped on drop.
struct Appliance(ChildGuard);

impl Appliance {
    fn start(port: u16, extra: &[&str]) -> Appliance {
        let child = Command::new(env!("CARGO_BIN_EXE_echo"))
            .args(["--address", "127.0.0.1", "--port", &port.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .expect("the echo binary starts");
        Appliance(ChildGuard::new(child))
    }

    /// Sends `signal` and waits for the appliance to exit.
    fn stop(mut self, signal: i32) -> std::process::ExitStatus {
        self.0
            .signal_and_wait(signal, Duration::from_secs(10))
            .expect("the appliance ignored the signal")
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                return s;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the appliance never listened on {addr}: {e}"),
        }
    }
}

fn tcp_round_trip(addr: SocketAddr, payload: &[u8]) {
    let mut s = connect(addr);
    s.write_all(payload).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    assert_eq!(back, payload, "TCP echo differs");
}

fn udp_round_trip(addr: SocketAddr, payload: &[u8]) {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 2048];
    for _ in 0..20 {
        s.send_to(payload, addr).unwrap();
        if let Ok((n, from)) = s.recv_from(&mut buf) {
            assert_eq!(from, addr);
            assert_eq!(&buf[..n], payload, "UDP echo differs");
            return;
        }
    }
    panic!("no UDP echo from {addr}");
}

#[test]
fn echoes_tcp_and_udp_then_stops_on_sigterm() {
    let port = free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let app = Appliance::start(port, &[]);
    tcp_round_trip(addr, b"hello, unikernel");
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    tcp_round_trip(addr, &big);
    udp_round_trip(addr, b"datagram");
    assert!(app.stop(libc::SIGTERM).success(), "SIGTERM is a clean stop");
}

#[test]
fn several_cores_share_the_port() {
    let port = free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let app = Appliance::start(port, &["--cores", "3"]);
    for i in 0..20u8 {
        tcp_round_trip(addr, &[i; 100]);
        udp_round_trip(addr, &[i; 10]);
    }
    assert!(app.stop(libc::SIGINT).success(), "Ctrl-C is a clean stop");
}

#[test]
fn bad_arguments_exit_with_a_one_line_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_echo"))
        .args(["--net", "tap:x", "--cores", "2", "--port", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--net tap"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_echo"))
        .args(["--cores", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses --cores 0");
}
