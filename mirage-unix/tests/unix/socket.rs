use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mirage_core::{Stack, StackError, TcpFlow, TcpListener, UdpSocket, conformance};
use mirage_unix::SocketStack;

use crate::block_on;

#[test]
fn exclusive_stack_meets_the_contract_on_ipv4() {
    block_on(conformance::stack(
        &SocketStack::exclusive(),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    ));
}

#[test]
fn exclusive_stack_meets_the_contract_on_ipv6() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        println!("SKIP: no IPv6 loopback on this host");
        return;
    }
    block_on(conformance::stack(
        &SocketStack::exclusive(),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ));
}

#[test]
fn shared_ports_take_turns() {
    block_on(async {
        let s = SocketStack::new();
        let a = s.tcp_listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        // SO_REUSEPORT: a second listener on the same port is accepted.
        let b = s.tcp_listen(a.local_addr()).await.unwrap();
        assert_eq!(a.local_addr(), b.local_addr());
        let u1 = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let u2 = s.udp_bind(u1.local_addr()).await.unwrap();
        assert_eq!(u1.local_addr(), u2.local_addr());
        // The exclusive stack refuses to join them.
        let x = SocketStack::exclusive();
        assert!(matches!(
            x.tcp_listen(a.local_addr()).await,
            Err(StackError::AddrInUse(addr)) if addr == a.local_addr()
        ));
    });
}

#[test]
fn flows_have_nodelay_and_map_errors() {
    block_on(async {
        let s = SocketStack::new();
        let l = s.tcp_listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = l.local_addr();
        let (client, server) = futures::join!(s.tcp_connect(addr), l.accept());
        let (mut client, server) = (client.unwrap(), server.unwrap());
        assert!(client.get_ref().nodelay().unwrap());
        assert!(server.get_ref().nodelay().unwrap());
        assert_eq!(server.peer_addr(), client.local_addr());
        // Writing after our own shutdown is Closed.
        client.shutdown().await.unwrap();
        assert!(matches!(client.write(b"x").await, Err(StackError::Closed)));
        drop(server);
        drop(l);
        assert!(matches!(
            s.tcp_connect(addr).await,
            Err(StackError::ConnectionRefused(a)) if a == addr
        ));
        // Not an address of this host.
        let foreign: SocketAddr = "192.0.2.1:0".parse().unwrap();
        assert!(matches!(
            s.udp_bind(foreign).await,
            Err(StackError::AddrNotAvailable(a)) if a == foreign
        ));
        let u = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let huge = vec![0u8; 70_000];
        assert!(matches!(
            u.send_to(&huge, u.local_addr()).await,
            Err(StackError::MessageTooLong {
                len: 70_000,
                max: 65_507
            })
        ));
    });
}

#[test]
fn outside_a_runtime_is_an_error() {
    let s = SocketStack::new();
    let r = futures::executor::block_on(s.tcp_listen("127.0.0.1:0".parse().unwrap()));
    assert!(matches!(r, Err(StackError::Io(_))));
    let r = futures::executor::block_on(s.udp_bind("127.0.0.1:0".parse().unwrap()));
    assert!(matches!(r, Err(StackError::Io(_))));
}

#[test]
fn vectored_writes_arrive_whole_and_in_order() {
    block_on(async {
        let s = SocketStack::new();
        let l = s.tcp_listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = l.local_addr();
        let (client, server) = futures::join!(s.tcp_connect(addr), l.accept());
        let (mut client, mut server) = (client.unwrap(), server.unwrap());
        // More buffers than one writev takes, empty ones among them, and
        // enough bytes (4 MiB) that the kernel accepts them in pieces.
        let parts: Vec<Vec<u8>> = (0..20u8)
            .map(|i| match i % 5 {
                0 => Vec::new(),
                1 => vec![i; 1],
                _ => (0..(400_000 + usize::from(i)))
                    .map(|j| (j % 251) as u8 ^ i)
                    .collect(),
            })
            .collect();
        let bufs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let expected: Vec<u8> = parts.concat();
        let write = async {
            server.write_all_vectored(&bufs).await.unwrap();
            server.shutdown().await.unwrap();
        };
        let read = async {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            loop {
                let n = client.read(&mut buf).await.unwrap();
                if n == 0 {
                    break got;
                }
                got.extend_from_slice(&buf[..n]);
            }
        };
        let ((), got) = futures::join!(write, read);
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
        // Nothing to write succeeds without touching the (shut down) socket.
        server.write_all_vectored(&[]).await.unwrap();
        server.write_all_vectored(&[b"", b""]).await.unwrap();
        assert!(matches!(
            server.write_all_vectored(&[b"x"]).await,
            Err(StackError::Closed)
        ));
    });
}

#[test]
fn udp_batches_move_many_datagrams_per_call() {
    block_on(async {
        let s = SocketStack::new();
        let a = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let b = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        // More than one sendmmsg call takes, so send_many sends a prefix.
        let msgs: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 1 + usize::from(i)]).collect();
        let batch: Vec<(&[u8], SocketAddr)> = msgs
            .iter()
            .map(|m| (m.as_slice(), b.local_addr()))
            .collect();
        let mut sent = 0;
        let mut calls = 0;
        while sent < batch.len() {
            sent += a.send_many(&batch[sent..]).await.unwrap();
            calls += 1;
        }
        assert!(calls < batch.len(), "{calls} calls sent {sent} datagrams");
        // Loopback delivers at once: every datagram is queued now.
        let mut store = vec![[0u8; 64]; 64];
        let mut bufs: Vec<&mut [u8]> = store.iter_mut().map(|b| &mut b[..]).collect();
        let mut meta = vec![(0, a.local_addr()); 64];
        let mut got = Vec::new();
        let mut calls = 0;
        while got.len() < msgs.len() {
            let n = b.recv_many(&mut bufs, &mut meta).await.unwrap();
            calls += 1;
            for (buf, (len, from)) in bufs.iter().zip(&meta).take(n) {
                // Loopback is shared with the tests running alongside: a
                // stray datagram to this port (say, a probe of a port that
                // was free a moment ago) is not ours and is skipped.
                if *from == a.local_addr() {
                    got.push(buf[..*len].to_vec());
                }
            }
        }
        assert_eq!(got, msgs);
        assert!(
            calls < msgs.len(),
            "{calls} calls took {} datagrams",
            got.len()
        );
    });
}

#[test]
fn udp_batches_truncate_and_map_errors_like_single_calls() {
    block_on(async {
        let s = SocketStack::new();
        let a = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let b = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        // Truncation: both calls cut a long datagram to the buffer.
        let long = [7u8; 100];
        let sent = a
            .send_many(&[(&long[..], b.local_addr()), (&long[..], b.local_addr())])
            .await
            .unwrap();
        assert_eq!(sent, 2);
        let mut small = [0u8; 10];
        assert_eq!(b.recv_from(&mut small).await.unwrap(), (10, a.local_addr()));
        let mut bufs: [&mut [u8]; 1] = [&mut small];
        let mut meta = [(0, b.local_addr())];
        assert_eq!(b.recv_many(&mut bufs, &mut meta).await.unwrap(), 1);
        assert_eq!(meta[0], (10, a.local_addr()));
        assert_eq!(small, [7u8; 10]);

        // Refused checks: the first datagram's error is returned; a later
        // bad one ends the batch and is reported by the next call.
        let huge = vec![0u8; 70_000];
        let v6: SocketAddr = "[::1]:53".parse().unwrap();
        assert!(matches!(
            a.send_many(&[(&huge[..], b.local_addr())]).await,
            Err(StackError::MessageTooLong {
                len: 70_000,
                max: 65_507
            })
        ));
        assert!(matches!(
            a.send_many(&[(&b"x"[..], v6)]).await,
            Err(StackError::FamilyNotConfigured("IPv6"))
        ));
        let mixed = [(&b"ok"[..], b.local_addr()), (&huge[..], b.local_addr())];
        assert_eq!(a.send_many(&mixed).await.unwrap(), 1);
        assert!(matches!(
            a.send_many(&mixed[1..]).await,
            Err(StackError::MessageTooLong { .. })
        ));
        let mut buf = [0u8; 16];
        let mut bufs: [&mut [u8]; 1] = [&mut buf];
        assert_eq!(b.recv_many(&mut bufs, &mut meta).await.unwrap(), 1);
        assert_eq!(meta[0], (2, a.local_addr()));

        // An ICMP "port unreachable" for an earlier datagram is skipped,
        // as recv_from skips it. The closed port is on 127.0.0.254, where
        // no other test binds: a port just freed on 127.0.0.1 may be taken
        // at once by a test running alongside, which would get "lost".
        let gone = s.udp_bind("127.0.0.254:0".parse().unwrap()).await.unwrap();
        let gone_addr = gone.local_addr();
        drop(gone);
        a.send_to(b"lost", gone_addr).await.unwrap();
        b.send_to(b"hello", a.local_addr()).await.unwrap();
        let mut bufs: [&mut [u8]; 1] = [&mut buf];
        assert_eq!(a.recv_many(&mut bufs, &mut meta).await.unwrap(), 1);
        assert_eq!(meta[0], (5, b.local_addr()));
    });
}

#[test]
fn unix_stack_forwards_batches_to_host_sockets() {
    block_on(async {
        let s = mirage_unix::UnixStack::Socket(SocketStack::new());
        let a = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let b = s.udp_bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let batch = [(&b"one"[..], b.local_addr()), (&b"two"[..], b.local_addr())];
        assert_eq!(a.send_many(&batch).await.unwrap(), 2);
        let mut store = [[0u8; 8]; 4];
        let mut bufs: Vec<&mut [u8]> = store.iter_mut().map(|b| &mut b[..]).collect();
        let mut meta = [(0, a.local_addr()); 4];
        let n = b.recv_many(&mut bufs, &mut meta).await.unwrap();
        assert_eq!(n, 2, "both datagrams are queued and taken at once");
        assert_eq!(&bufs[0][..meta[0].0], b"one");
        assert_eq!(&bufs[1][..meta[1].0], b"two");
    });
}
