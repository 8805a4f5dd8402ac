//! Free ports on loopback, and waiting until something listens on one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// A TCP port free on `ip` at the moment of asking (the kernel picks it).
pub fn free_tcp_port(ip: impl Into<IpAddr>) -> u16 {
    TcpListener::bind((ip.into(), 0))
        .expect("bind a TCP port on loopback")
        .local_addr()
        .unwrap()
        .port()
}

/// A port free for both TCP and UDP on 127.0.0.1 (at the moment of
/// asking), for servers that answer on both, as DNS servers do.
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a TCP port on loopback");
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// Waits until a TCP connection to `addr` succeeds, trying every 20 ms;
/// `false` if none did within `timeout`.
pub fn wait_for_tcp(addr: impl Into<SocketAddr>, timeout: Duration) -> bool {
    let addr = addr.into();
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if started.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
