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
