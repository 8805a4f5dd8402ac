//! The unikernel, generic over its devices: the same code runs as a Unix
//! process and as a Xen guest.

use alloc::format;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddr};
use core::time::Duration;

use futures::StreamExt;
use futures::future::{Either, select};
use futures::stream::FuturesUnordered;
use mirage_core::block::{Block, BlockError};
use mirage_core::console::{Console, ConsoleError};
use mirage_core::stack::{Stack, StackError, TcpFlow, TcpListener, UdpSocket};
use mirage_core::time::Clock;

/// Timer ticks the unikernel waits for.
pub const TICKS: u32 = 3;
/// The wait between ticks.
pub const TICK: Duration = Duration::from_millis(100);

/// Prints a greeting, the wall-clock time, [`TICKS`] ticks [`TICK`] apart
/// with the monotonic time of each, and a heap check, then returns.
pub async fn start<C: Console, T: Clock>(console: C, clock: T) -> Result<(), ConsoleError> {
    console
        .write_line("xen-hello: hello from a mirage-rs unikernel")
        .await?;
    let wall = clock.now_posix();
    console
        .write_line(&format!(
            "xen-hello: wall clock {}.{:09} s since the epoch",
            wall.secs, wall.nanos
        ))
        .await?;
    let start = clock.now();
    for i in 1..=TICKS {
        clock.sleep(TICK).await;
        let elapsed = clock.now() - start;
        console
            .write_line(&format!(
                "xen-hello: tick {i} after {} us",
                elapsed.as_micros()
            ))
            .await?;
    }
    let squares: Vec<u64> = (0..10_000u64).map(|x| x * x).collect();
    let sum: u64 = squares.iter().sum();
    console
        .write_line(&format!("xen-hello: heap ok, sum of 10000 squares = {sum}"))
        .await?;
    console.write_line("xen-hello: goodbye").await
}

/// The datagram that ends [`udp_echo`].
pub const QUIT: &[u8] = b"quit";

/// Why [`udp_echo`] stopped.
#[derive(Debug)]
pub enum EchoError {
    /// The stack refused a bind, send or receive.
    Stack(StackError),
    /// The console failed.
    Console(ConsoleError),
}

impl core::fmt::Display for EchoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EchoError::Stack(e) => write!(f, "UDP echo: {e}"),
            EchoError::Console(e) => write!(f, "console: {e}"),
        }
    }
}

/// Echoes every UDP datagram sent to `port` back to its sender, until a
/// datagram reading [`QUIT`] (trailing newline allowed) arrives; returns
/// how many were echoed.
#[cfg_attr(not(any(test, feature = "xen")), allow(dead_code))]
pub async fn udp_echo<S: Stack, C: Console>(
    stack: &S,
    console: &C,
    port: u16,
) -> Result<u64, EchoError> {
    let socket = stack
        .udp_bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port))
        .await
        .map_err(EchoError::Stack)?;
    console
        .write_line(&format!("xen-hello: UDP echo on port {port}"))
        .await
        .map_err(EchoError::Console)?;
    let mut buf = [0u8; 1500];
    let mut echoed = 0;
    loop {
        let (n, from) = socket.recv_from(&mut buf).await.map_err(EchoError::Stack)?;
        let data = &buf[..n];
        if data.strip_suffix(b"\n").unwrap_or(data) == QUIT {
            console
                .write_line(&format!(
                    "xen-hello: quit from {from} after {echoed} echoes"
                ))
                .await
                .map_err(EchoError::Console)?;
            return Ok(echoed);
        }
        socket.send_to(data, from).await.map_err(EchoError::Stack)?;
        echoed += 1;
        console
            .write_line(&format!("xen-hello: echoed {n} bytes to {from}"))
            .await
            .map_err(EchoError::Console)?;
    }
}

/// The page [`http_hello`] serves.
pub const PAGE: &str = "Hello from a mirage-rs unikernel\n";

/// Largest request head [`http_hello`] reads before answering.
const MAX_REQUEST: usize = 4096;

/// Serves [`PAGE`] over HTTP/1.0-style exchanges on `port`: reads a request
/// head (up to the blank line, at most 4 KiB), answers `200 OK` with the
/// page and closes. Connections run concurrently; a failing connection is
/// dropped without affecting the others. Returns only if listening fails.
#[cfg_attr(not(any(test, feature = "xen")), allow(dead_code))]
pub async fn http_hello<S: Stack>(stack: &S, port: u16) -> Result<(), StackError> {
    let listener = stack
        .tcp_listen(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port))
        .await?;
    let mut conns = FuturesUnordered::new();
    loop {
        let flow = if conns.is_empty() {
            listener.accept().await?
        } else {
            match select(core::pin::pin!(listener.accept()), conns.next()).await {
                Either::Left((flow, _)) => flow?,
                Either::Right(_) => continue,
            }
        };
        conns.push(answer(flow));
    }
}

async fn answer<F: TcpFlow>(mut flow: F) -> Result<(), StackError> {
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = flow.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
        PAGE.len()
    );
    flow.write_all(response.as_bytes()).await?;
    flow.close().await
}

#[cfg(test)]
mod test {
    use super::*;
    use core::net::IpAddr;
    use mirage_core::mem::{MemConsole, MemInternet, Simulation};
    use mirage_core::time::Time;

    #[test]
    fn test_ticks_in_virtual_time() {
        let mut sim = Simulation::new(1);
        let console = MemConsole::new();
        sim.block_on(start(&console, sim.clock())).unwrap().unwrap();
        let out = console.output().join("\n");
        assert!(out.contains("wall clock 1700000000.000000000 s"), "{out}");
        assert!(out.contains("tick 3 after 300000 us"), "{out}");
        assert!(out.contains("sum of 10000 squares = 333283335000"), "{out}");
    }

    #[test]
    fn test_disk_check_writes_and_reads_back() {
        let mut sim = Simulation::new(3);
        let console = MemConsole::new();
        let disk = mirage_core::mem::MemBlock::new(512, 8).unwrap();
        let mut first = [0u8; 512];
        first[..19].copy_from_slice(b"mirage-rs test disk");
        sim.block_on(disk.write(0, &[&first[..]])).unwrap().unwrap();
        sim.block_on(disk_check("xvda", &disk, &console))
            .unwrap()
            .unwrap();
        let out = console.output().join("\n");
        assert!(
            out.contains("disk xvda: 8 sectors of 512 bytes, read-write true, sector 0 says \"mirage-rs test disk\""),
            "{out}"
        );
        assert!(
            out.contains("sector 7 written, flushed and read back"),
            "{out}"
        );
        let mut last = [0u8; 512];
        sim.block_on(disk.read(7, &mut [&mut last[..]]))
            .unwrap()
            .unwrap();
        assert_eq!(last[1], 1 ^ 0x5a);
    }

    #[test]
    fn test_udp_echo_until_quit() {
        let mut sim = Simulation::new(2);
        let net = MemInternet::new();
        let server = net.host([IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);
        let client = net.host([IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))]);
        let console = MemConsole::new();
        let echo = sim.spawn(async move {
            udp_echo(&server, &console, 7)
                .await
                .map_err(|e| e.to_string())
        });
        let clock = sim.clock();
        let replies = sim
            .block_on(async move {
                // Let the server bind first: datagrams to an unbound port are dropped.
                clock.sleep(Duration::from_millis(1)).await;
                let s = client
                    .udp_bind("10.0.0.3:5000".parse().unwrap())
                    .await
                    .unwrap();
                let to: SocketAddr = "10.0.0.2:7".parse().unwrap();
                let mut replies = Vec::new();
                for msg in [&b"hello"[..], b"xen\n"] {
                    s.send_to(msg, to).await.unwrap();
                    let mut buf = [0u8; 64];
                    let (n, from) = s.recv_from(&mut buf).await.unwrap();
                    assert_eq!(from, to);
                    replies.push(buf[..n].to_vec());
                }
                s.send_to(b"quit\n", to).await.unwrap();
                replies
            })
            .unwrap();
        assert_eq!(replies, vec![b"hello".to_vec(), b"xen\n".to_vec()]);
        assert_eq!(sim.block_on(echo).unwrap(), Ok(2));
    }

    #[test]
    fn test_http_hello_serves_concurrent_clients() {
        let mut sim = Simulation::new(3);
        let net = MemInternet::new();
        let server = net.host([IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);
        let client = net.host([IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))]);
        let _server =
            sim.spawn(async move { http_hello(&server, 80).await.map_err(|e| e.to_string()) });
        let clock = sim.clock();
        let pages = sim
            .block_on(async move {
                clock.sleep(Duration::from_millis(1)).await;
                let to: SocketAddr = "10.0.0.2:80".parse().unwrap();
                // A silent client must not block the next one.
                let _idle = client.tcp_connect(to).await.unwrap();
                let mut pages = Vec::new();
                for _ in 0..2 {
                    let mut c = client.tcp_connect(to).await.unwrap();
                    c.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
                    let mut got = Vec::new();
                    let mut buf = [0u8; 256];
                    loop {
                        let n = c.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    pages.push(String::from_utf8(got).unwrap());
                }
                pages
            })
            .unwrap();
        for page in pages {
            assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
            assert!(page.ends_with(PAGE), "{page}");
        }
    }
}

/// Why the disk check failed.
#[cfg_attr(not(any(feature = "xen", test)), allow(dead_code))]
#[derive(Debug)]
pub enum DiskError {
    /// A read, write or flush failed.
    Block(BlockError),
    /// The console failed.
    Console(ConsoleError),
    /// The sector written was not read back.
    Mismatch,
}

impl core::fmt::Display for DiskError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DiskError::Block(e) => write!(f, "disk: {e}"),
            DiskError::Console(e) => write!(f, "console: {e}"),
            DiskError::Mismatch => f.write_str("disk: the sector written was read back different"),
        }
    }
}

/// Prints a disk's geometry and the text at the start of its first
/// sector, then writes a pattern to its last sector, flushes, reads it back
/// and compares.
#[cfg_attr(not(any(feature = "xen", test)), allow(dead_code))]
pub async fn disk_check<B: Block, C: Console>(
    name: &str,
    disk: &B,
    console: &C,
) -> Result<(), DiskError> {
    let info = disk.info();
    let size = info.sector_size as usize;
    let mut first = alloc::vec![0u8; size];
    disk.read(0, &mut [&mut first[..]])
        .await
        .map_err(DiskError::Block)?;
    let text: alloc::string::String = first
        .iter()
        .take(64)
        .take_while(|b| **b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    console
        .write_line(&format!(
            "xen-hello: disk {name}: {} sectors of {size} bytes, read-write {}, sector 0 says {text:?}",
            info.sectors, info.read_write
        ))
        .await
        .map_err(DiskError::Console)?;
    if !info.read_write || info.sectors == 0 {
        return Ok(());
    }
    let last = info.sectors - 1;
    let pattern: Vec<u8> = (0..size).map(|i| (i % 251) as u8 ^ 0x5a).collect();
    disk.write(last, &[&pattern[..]])
        .await
        .map_err(DiskError::Block)?;
    disk.flush().await.map_err(DiskError::Block)?;
    let mut back = alloc::vec![0u8; size];
    disk.read(last, &mut [&mut back[..]])
        .await
        .map_err(DiskError::Block)?;
    if back != pattern {
        return Err(DiskError::Mismatch);
    }
    console
        .write_line(&format!(
            "xen-hello: disk {name}: sector {last} written, flushed and read back"
        ))
        .await
        .map_err(DiskError::Console)
}
