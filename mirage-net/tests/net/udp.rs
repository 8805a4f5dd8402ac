//! UDP over the virtual cable.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use mirage_core::mem::LinkConfig;
use mirage_core::{Stack as _, StackError, UdpSocket as _};
use mirage_net::TcpOptions;

use crate::harness::{A4, A6, B4, B6, pair};

#[test]
fn request_response_v4_and_v6() {
    let mut p = pair(20, LinkConfig::default(), TcpOptions::default());
    let a = p.a.clone();
    let server = p.sim.spawn(async move {
        let sock = a.udp_bind("0.0.0.0:53".parse().unwrap()).await.unwrap();
        let mut buf = [0u8; 512];
        let mut peers = Vec::new();
        for _ in 0..2 {
            let (n, from) = sock.recv_from(&mut buf).await.unwrap();
            let mut reply = b"re: ".to_vec();
            reply.extend_from_slice(&buf[..n]);
            sock.send_to(&reply, from).await.unwrap();
            peers.push(from);
        }
        peers
    });
    let b = p.b.clone();
    let replies = p
        .sim
        .block_on(async move {
            let mut out = Vec::new();
            for (local, to) in [
                (
                    SocketAddr::V4(SocketAddrV4::new(B4, 0)),
                    SocketAddr::V4(SocketAddrV4::new(A4, 53)),
                ),
                (
                    SocketAddr::V6(SocketAddrV6::new(B6, 5353, 0, 0)),
                    SocketAddr::V6(SocketAddrV6::new(A6, 53, 0, 0)),
                ),
            ] {
                let sock = b.udp_bind(local).await.unwrap();
                assert_ne!(sock.local_addr().port(), 0);
                sock.send_to(b"ping", to).await.unwrap();
                let mut buf = [0u8; 64];
                let (n, from) = sock.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, to);
                out.push(buf[..n].to_vec());
            }
            out
        })
        .unwrap();
    assert_eq!(replies, vec![b"re: ping".to_vec(), b"re: ping".to_vec()]);
    let peers = p.sim.block_on(server).unwrap();
    assert_eq!(peers[0].ip(), std::net::IpAddr::V4(B4));
    assert_eq!(peers[1], SocketAddr::V6(SocketAddrV6::new(B6, 5353, 0, 0)));
    assert_eq!(p.a.counters().udp_rx, 2);
    assert_eq!(p.a.counters().udp_tx, 2);
}

#[test]
fn oversized_datagram_is_refused_and_short_buffer_truncates() {
    let mut p = pair(21, LinkConfig::default(), TcpOptions::default());
    let a = p.a.clone();
    let b = p.b.clone();
    p.sim
        .block_on(async move {
            let rx = a.udp_bind("10.0.0.1:9".parse().unwrap()).await.unwrap();
            let tx = b.udp_bind("0.0.0.0:0".parse().unwrap()).await.unwrap();
            let to: SocketAddr = "10.0.0.1:9".parse().unwrap();
            let big = vec![7u8; 1473];
            assert!(matches!(
                tx.send_to(&big, to).await,
                Err(StackError::MessageTooLong {
                    len: 1473,
                    max: 1472
                })
            ));
            tx.send_to(&big[..1472], to).await.unwrap();
            let mut small = [0u8; 100];
            let (n, _) = rx.recv_from(&mut small).await.unwrap();
            assert_eq!(n, 100);
        })
        .unwrap();
}

#[test]
fn bind_conflicts() {
    let mut p = pair(22, LinkConfig::default(), TcpOptions::default());
    let a = p.a.clone();
    p.sim
        .block_on(async move {
            let _s = a.udp_bind("0.0.0.0:53".parse().unwrap()).await.unwrap();
            // Unspecified means both families, as on a Linux dual-stack socket.
            assert!(matches!(
                a.udp_bind("[::]:53".parse().unwrap()).await,
                Err(StackError::AddrInUse(_))
            ));
            assert!(matches!(
                a.udp_bind("10.0.0.1:53".parse().unwrap()).await,
                Err(StackError::AddrInUse(_))
            ));
            assert!(matches!(
                a.udp_bind("192.0.2.1:53".parse().unwrap()).await,
                Err(StackError::AddrNotAvailable(_))
            ));
            drop(_s);
            a.udp_bind("10.0.0.1:53".parse().unwrap()).await.unwrap();
        })
        .unwrap();
}

/// Several tasks may wait on one socket: each datagram wakes a receiver,
/// and none is left hanging.
#[test]
fn concurrent_receivers_on_one_socket() {
    let mut p = pair(23, LinkConfig::default(), TcpOptions::default());
    let sock = p
        .sim
        .block_on(p.a.udp_bind("0.0.0.0:4000".parse().unwrap()))
        .unwrap()
        .unwrap();
    let sock = std::rc::Rc::new(sock);
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let sock = sock.clone();
            p.sim.spawn(async move {
                let mut buf = [0u8; 16];
                let (n, _) = sock.recv_from(&mut buf).await.unwrap();
                buf[..n].to_vec()
            })
        })
        .collect();
    let b = p.b.clone();
    p.sim
        .block_on(async move {
            let s = b.udp_bind("0.0.0.0:0".parse().unwrap()).await.unwrap();
            for i in 0..3u8 {
                s.send_to(&[i; 4], "10.0.0.1:4000".parse().unwrap())
                    .await
                    .unwrap();
            }
        })
        .unwrap();
    let mut got: Vec<Vec<u8>> = receivers
        .into_iter()
        .map(|r| p.sim.block_on(r).unwrap())
        .collect();
    got.sort();
    assert_eq!(got, vec![vec![0; 4], vec![1; 4], vec![2; 4]]);
}

/// Ephemeral ports are drawn at random (RFC 6056), not handed out in
/// sequence: a port does not tell the next one.
#[test]
fn ephemeral_ports_are_random() {
    let mut p = pair(21, LinkConfig::default(), TcpOptions::default());
    let b = p.b.clone();
    let ports = p
        .sim
        .block_on(async move {
            let mut ports = Vec::new();
            for _ in 0..32 {
                let sock = b
                    .udp_bind(SocketAddr::V4(SocketAddrV4::new(B4, 0)))
                    .await
                    .unwrap();
                ports.push(sock.local_addr().port());
            }
            ports
        })
        .unwrap();
    assert!(
        ports.iter().all(|p| (49152..=65535).contains(p)),
        "{ports:?}"
    );
    let steps_of_one = ports.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(steps_of_one < 4, "ports look sequential: {ports:?}");
    let mut distinct = ports.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 24, "ports repeat too often: {ports:?}");
}
