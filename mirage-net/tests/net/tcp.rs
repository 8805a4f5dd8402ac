//! TCP over the virtual cable: bulk transfer under loss, many concurrent
//! connections, refusals, dead peers and socket reclamation.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use mirage_core::mem::LinkConfig;
use mirage_core::{MonotonicClock, Stack as _, StackError, TcpFlow as _, TcpListener as _};
use mirage_net::{Stack, TcpOptions};

use crate::harness::{A4, A6, B4, fnv, pair, payload};

/// Reads until EOF, returning the bytes.
async fn read_to_end(flow: &mut impl mirage_core::TcpFlow) -> Result<Vec<u8>, StackError> {
    let mut out = Vec::new();
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = flow.read(&mut buf).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Sends `len` bytes from B to a sink on A over a link losing `loss` of
/// frames and reordering 5%, and checks they arrive intact. Returns
/// (virtual seconds, frames recorded at A).
fn lossy_transfer(seed: u64, len: usize, loss: f64) -> (f64, u64) {
    let link = LinkConfig {
        loss,
        reorder: 0.05,
        jitter: Duration::from_millis(2),
        delay: Duration::from_millis(1),
        ..LinkConfig::default()
    };
    let tcp = TcpOptions {
        rx_buffer: 256 * 1024,
        tx_buffer: 256 * 1024,
        ..TcpOptions::default()
    };
    let mut p = pair(seed, link, tcp);
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 9000));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let sink = p.sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut total = 0usize;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = flow.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            total += n;
        }
        flow.close().await.unwrap();
        (total, hash)
    });
    let data = payload(seed, len);
    let want = fnv(&data);
    let b = p.b.clone();
    p.sim
        .block_on(async move {
            let mut flow = b.tcp_connect(addr).await.unwrap();
            for chunk in data.chunks(100_000) {
                flow.write_all(chunk).await.unwrap();
            }
            flow.close().await.unwrap();
        })
        .unwrap();
    let (total, hash) = p.sim.block_on(sink).unwrap();
    assert_eq!(total, len, "every byte arrived");
    assert_eq!(hash, want, "the bytes arrived intact and in order");
    let secs = p.sim.clock().now().as_nanos() as f64 / 1e9;
    (secs, p.trace.frames.get())
}

#[test]
fn transfer_2mb_with_loss_and_reordering() {
    let (secs, frames) = lossy_transfer(1, 2_000_000, 0.02);
    println!("2 MB at 2% loss: {secs:.1} virtual s, {frames} frames at A");
}

/// The full-size run: 20 MB at 2% loss (about 5 s in a debug build).
#[test]
fn transfer_20mb_with_loss_and_reordering() {
    let (secs, frames) = lossy_transfer(2, 20_000_000, 0.02);
    println!("20 MB at 2% loss: {secs:.1} virtual s, {frames} frames at A");
}

#[test]
fn transfer_over_ipv6() {
    let mut p = pair(3, LinkConfig::default(), TcpOptions::default());
    let addr = SocketAddr::V6(SocketAddrV6::new(A6, 80, 0, 0));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let server = p.sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        let got = read_to_end(&mut flow).await.unwrap();
        flow.write_all(&got).await.unwrap();
        let peer = flow.peer_addr();
        flow.close().await.unwrap();
        peer
    });
    let data = payload(3, 300_000);
    let b = p.b.clone();
    let echoed = p
        .sim
        .block_on(async move {
            let mut flow = b.tcp_connect(addr).await.unwrap();
            flow.write_all(&data).await.unwrap();
            flow.shutdown().await.unwrap();
            (read_to_end(&mut flow).await.unwrap(), data)
        })
        .unwrap();
    assert_eq!(echoed.0, echoed.1);
    let peer = p.sim.block_on(server).unwrap();
    assert_eq!(peer.ip(), crate::harness::B6);
}

/// Serves echo on every accepted connection until `count` were served.
async fn echo_server(listener: mirage_net::TcpListener, count: usize) -> usize {
    let mut conns = FuturesUnordered::new();
    let mut accepted = 0;
    let mut done = 0;
    while done < count {
        futures::select_biased! {
            r = conns.select_next_some() => { let () = r; done += 1; }
            flow = listener.accept().fuse() => {
                let mut flow = flow.unwrap();
                accepted += 1;
                conns.push(async move {
                    let got = read_to_end(&mut flow).await.unwrap();
                    flow.write_all(&got).await.unwrap();
                    flow.close().await.unwrap();
                });
            }
        }
    }
    accepted
}

#[test]
fn two_hundred_concurrent_connections() {
    // The default backlog (128) is below 200: the SYNs beyond it are
    // dropped and retransmitted, and every connection still completes.
    let tcp = TcpOptions {
        rx_buffer: 8 * 1024,
        tx_buffer: 8 * 1024,
        ..TcpOptions::default()
    };
    let link = LinkConfig {
        loss: 0.01,
        ..LinkConfig::default()
    };
    let mut p = pair(4, link, tcp);
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 7));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    assert_eq!(p.a.socket_count(), TcpOptions::default().listen_sockets);
    let server = p.sim.spawn(echo_server(listener, 200));
    let clients: Vec<_> = (0..200u64)
        .map(|i| {
            let b = p.b.clone();
            p.sim.spawn(async move {
                let msg = payload(i, 1000 + i as usize * 37);
                let mut flow = b.tcp_connect(addr).await.unwrap();
                flow.write_all(&msg).await.unwrap();
                flow.shutdown().await.unwrap();
                let got = read_to_end(&mut flow).await.unwrap();
                assert_eq!(got, msg, "connection {i} echoed");
            })
        })
        .collect();
    for c in clients {
        p.sim.block_on(c).unwrap();
    }
    assert_eq!(p.sim.block_on(server).unwrap(), 200);
    let c = p.a.counters();
    assert_eq!(c.tcp_accepted, 200);
    assert!(
        c.tcp_syn_dropped > 0,
        "the burst overflowed the backlog: {c:?}"
    );
    assert_eq!(p.b.counters().tcp_connected, 200);
    // TIME-WAIT and linger end within a couple of minutes: every
    // connection's socket is freed again on both sides.
    p.sim.run_for(Duration::from_secs(120)).unwrap();
    // The listener was dropped when the server finished.
    assert_eq!(p.a.socket_count(), 0, "server sockets freed");
    assert_eq!(p.b.socket_count(), 0, "client sockets freed");
    assert!(p.a.counters().tcp_sockets_freed >= 200);
}

#[test]
fn connect_to_closed_port_is_refused() {
    let mut p = pair(5, LinkConfig::default(), TcpOptions::default());
    let b = p.b.clone();
    let r = p
        .sim
        .block_on(async move {
            b.tcp_connect(SocketAddr::V4(SocketAddrV4::new(A4, 1)))
                .await
                .map(|_| ())
        })
        .unwrap();
    assert!(matches!(r, Err(StackError::ConnectionRefused(_))), "{r:?}");
    assert_eq!(p.b.counters().tcp_connect_failed, 1);
}

#[test]
fn connect_to_silent_host_times_out() {
    let tcp = TcpOptions {
        timeout: Some(Duration::from_secs(20)),
        ..TcpOptions::default()
    };
    let mut p = pair(6, LinkConfig::default(), tcp);
    let b = p.b.clone();
    let clock = p.sim.clock();
    let r = p
        .sim
        .block_on(async move {
            let to = SocketAddr::V4(SocketAddrV4::new(std::net::Ipv4Addr::new(10, 0, 0, 99), 80));
            b.tcp_connect(to).await.map(|_| ())
        })
        .unwrap();
    assert!(matches!(r, Err(StackError::TimedOut)), "{r:?}");
    assert!(clock.now().as_millis() >= 20_000);
}

/// A peer that vanishes mid-connection (its cable cut) is detected by the
/// timeout, the reader gets an error, and the socket is freed.
#[test]
fn dead_peer_is_detected_and_freed() {
    let tcp = TcpOptions {
        keep_alive: Some(Duration::from_secs(5)),
        timeout: Some(Duration::from_secs(30)),
        ..TcpOptions::default()
    };
    let mut p = pair(7, LinkConfig::default(), tcp);
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 22));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let baseline = p.a.socket_count();
    let server = p.sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        let mut buf = [0; 16];
        let r = flow.read(&mut buf).await;
        drop(flow);
        (r, listener)
    });
    let b = p.b.clone();
    let client = p
        .sim
        .block_on(async move { b.tcp_connect(addr).await.unwrap() })
        .unwrap();
    // Cut the cable: nothing gets through any more, in either direction.
    p.switch.set_config(LinkConfig {
        loss: 1.0,
        ..LinkConfig::default()
    });
    let (r, listener) = p.sim.block_on(server).unwrap();
    assert!(matches!(r, Err(StackError::TimedOut)), "{r:?}");
    assert!(
        p.sim.clock().now().as_millis() <= 40_000,
        "noticed within the timeout"
    );
    p.sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(
        p.a.socket_count(),
        baseline,
        "the dead connection's socket was freed"
    );
    drop((client, listener));
}

/// A burst of SYNs larger than the backlog: the excess SYNs are dropped
/// (not refused), the clients retransmit them, and every connection is
/// made once `accept` catches up.
#[test]
fn backlog_overflow_drops_syns_until_accept_catches_up() {
    let tcp = TcpOptions {
        listen_sockets: 2,
        backlog: 4,
        ..TcpOptions::default()
    };
    let mut p = pair(8, LinkConfig::default(), tcp);
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 8080));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let clock = p.sim.clock();
    let attempts: Vec<_> = (0..10)
        .map(|_| {
            let b = p.b.clone();
            let clock = clock.clone();
            p.sim.spawn(async move {
                let r = b.tcp_connect(addr).await;
                (r, clock.now())
            })
        })
        .collect();
    // Nobody accepts for two seconds: four connections fill the backlog.
    p.sim.run_for(Duration::from_secs(2)).unwrap();
    let done = attempts.iter().filter(|a| a.is_finished()).count();
    assert_eq!(done, 4, "the backlog holds four connections");
    assert!(p.a.counters().tcp_syn_dropped >= 6);
    assert!(p.a.counters().tcp_backlog_full >= 1);
    let accepted = p.sim.spawn(async move {
        let mut v = Vec::new();
        for _ in 0..10 {
            v.push(listener.accept().await.unwrap());
        }
        v
    });
    let mut late = 0;
    for a in attempts {
        let (r, at) = p.sim.block_on(a).unwrap();
        assert!(r.is_ok(), "{r:?}");
        if at.as_millis() > 2_000 {
            late += 1;
        }
    }
    assert_eq!(late, 6, "six connected after retransmitting their SYN");
    assert_eq!(p.sim.block_on(accepted).unwrap().len(), 10);
}

#[test]
fn listen_twice_on_a_port_is_addr_in_use() {
    let mut p = pair(9, LinkConfig::default(), TcpOptions::default());
    let a = p.a.clone();
    p.sim
        .block_on(async move {
            let addr = SocketAddr::V4(SocketAddrV4::new(A4, 80));
            let _l = a.tcp_listen(addr).await.unwrap();
            assert!(matches!(
                a.tcp_listen(addr).await,
                Err(StackError::AddrInUse(_))
            ));
            let other = SocketAddr::V4(SocketAddrV4::new(B4, 80));
            assert!(matches!(
                a.tcp_listen(other).await,
                Err(StackError::AddrNotAvailable(_))
            ));
            let any = a.tcp_listen("0.0.0.0:0".parse().unwrap()).await.unwrap();
            assert_ne!(mirage_core::TcpListener::local_addr(&any).port(), 0);
        })
        .unwrap();
}

/// Dropping a listener frees its LISTEN sockets.
#[test]
fn dropped_listener_frees_sockets() {
    let mut p = pair(10, LinkConfig::default(), TcpOptions::default());
    let a: Stack = p.a.clone();
    let before = a.socket_count();
    let l = p
        .sim
        .block_on(a.tcp_listen(SocketAddr::V4(SocketAddrV4::new(A4, 443))))
        .unwrap()
        .unwrap();
    assert_eq!(
        a.socket_count(),
        before + TcpOptions::default().listen_sockets
    );
    drop(l);
    assert_eq!(a.socket_count(), before);
}

/// Window scaling is in effect: over a 100 ms round trip, 5 MB moves far
/// faster than the 64 KiB-per-round-trip an unscaled window allows (which
/// would take at least 7.6 s of virtual time).
///
/// Congestion control is off here to measure the window alone: the virtual
/// cable has no serialisation delay, so a whole window arrives at once and
/// earns one cumulative ACK, and smoltcp's Reno grows by at most one MSS
/// per ACK, so its slow start would be linear on this link.
#[test]
fn window_scaling_fills_a_long_pipe() {
    let link = LinkConfig {
        delay: Duration::from_millis(50),
        ..LinkConfig::default()
    };
    let tcp = TcpOptions {
        rx_buffer: 1024 * 1024,
        tx_buffer: 1024 * 1024,
        congestion: mirage_net::CongestionControl::None,
        ..TcpOptions::default()
    };
    let mut p = pair(11, link, tcp);
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 9001));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let sink = p.sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        read_to_end(&mut flow).await.unwrap().len()
    });
    let b = p.b.clone();
    let clock = p.sim.clock();
    let (start, end) = p
        .sim
        .block_on(async move {
            let mut flow = b.tcp_connect(addr).await.unwrap();
            let start = clock.now();
            flow.write_all(&payload(11, 5_000_000)).await.unwrap();
            flow.close().await.unwrap();
            (start, clock.now())
        })
        .unwrap();
    assert_eq!(p.sim.block_on(sink).unwrap(), 5_000_000);
    let secs = (end - start).as_secs_f64();
    println!("5 MB over a 100 ms RTT: {secs:.2} virtual s");
    assert!(
        secs < 4.0,
        "took {secs:.2} virtual s: is the window scaled?"
    );
}

/// An idle stack sleeps: with a listener and an idle connection (keep-alive
/// every 75 s), ten virtual minutes cost a handful of runner polls, not a
/// busy loop.
#[test]
fn idle_stack_sleeps_between_timers() {
    let mut p = pair(12, LinkConfig::default(), TcpOptions::default());
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 2000));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let b = p.b.clone();
    let (client, server) = p
        .sim
        .block_on(async move {
            let c = b.tcp_connect(addr).await.unwrap();
            (c, listener.accept().await.unwrap())
        })
        .unwrap();
    p.sim.run_for(Duration::from_secs(1)).unwrap();
    let before = (p.a.counters().polls, p.b.counters().polls);
    p.sim.run_for(Duration::from_secs(600)).unwrap();
    let after = (p.a.counters().polls, p.b.counters().polls);
    let polls = (after.0 - before.0, after.1 - before.1);
    println!("runner polls in 10 idle minutes: {polls:?}");
    assert!(polls.0 < 100 && polls.1 < 100, "{polls:?}");
    assert!(polls.0 > 0, "keep-alives still run");
    assert_eq!(client.state(), mirage_net::TcpState::Established);
    drop((client, server));
}

/// A peer's RST is a reset, not a timeout, and frees nothing early: the
/// reader learns at once.
#[test]
fn peer_abort_is_connection_reset() {
    let mut p = pair(13, LinkConfig::default(), TcpOptions::default());
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 2001));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let b = p.b.clone();
    let clock = p.sim.clock();
    let r = p
        .sim
        .block_on(async move {
            let mut client = b.tcp_connect(addr).await.unwrap();
            let server = listener.accept().await.unwrap();
            let at = clock.now();
            server.abort();
            let mut buf = [0; 8];
            let r = client.read(&mut buf).await;
            assert!(clock.now() - at < Duration::from_secs(1));
            r
        })
        .unwrap();
    assert!(matches!(r, Err(StackError::ConnectionReset)), "{r:?}");
}

/// After a graceful close, reads keep returning EOF, even once TIME-WAIT
/// is over and smoltcp has forgotten the connection.
#[test]
fn eof_outlives_time_wait() {
    let mut p = pair(14, LinkConfig::default(), TcpOptions::default());
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 2002));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let b = p.b.clone();
    let clock = p.sim.clock();
    p.sim
        .block_on(async move {
            let mut client = b.tcp_connect(addr).await.unwrap();
            let mut server = listener.accept().await.unwrap();
            client.shutdown().await.unwrap();
            let mut buf = [0; 8];
            assert_eq!(server.read(&mut buf).await.unwrap(), 0);
            server.close().await.unwrap();
            assert_eq!(client.read(&mut buf).await.unwrap(), 0);
            assert_eq!(client.state(), mirage_net::TcpState::TimeWait);
            mirage_core::Time::sleep(&clock, Duration::from_secs(30)).await;
            assert_eq!(client.state(), mirage_net::TcpState::Closed);
            assert_eq!(client.read(&mut buf).await.unwrap(), 0);
        })
        .unwrap();
}

/// CUBIC (with the `std` feature) moves data intact under loss too.
#[cfg(feature = "std")]
#[test]
fn cubic_transfer_with_loss() {
    let link = LinkConfig {
        loss: 0.02,
        ..LinkConfig::default()
    };
    let tcp = TcpOptions {
        congestion: mirage_net::CongestionControl::Cubic,
        ..TcpOptions::default()
    };
    let mut p = pair(15, link, tcp);
    let addr = SocketAddr::V4(SocketAddrV4::new(A4, 9002));
    let listener = p.sim.block_on(p.a.tcp_listen(addr)).unwrap().unwrap();
    let sink = p.sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        read_to_end(&mut flow).await.unwrap()
    });
    let data = payload(15, 1_000_000);
    let sent = data.clone();
    let b = p.b.clone();
    p.sim
        .block_on(async move {
            let mut flow = b.tcp_connect(addr).await.unwrap();
            flow.write_all(&sent).await.unwrap();
            flow.close().await.unwrap();
        })
        .unwrap();
    assert!(p.sim.block_on(sink).unwrap() == data);
}
