//! The whole server over mirage-core's in-memory stack, in virtual time.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use mirage_core::mem::{MemInternet, MemKv, Simulation};
use mirage_core::{Bytes, Key, KvRw, MonotonicClock, Stack, TcpFlow, Time, UdpSocket};
use mirage_dns::server::{ServeOptions, TcpOptions, ZoneSet, Zones, serve};
use mirage_dns::wire::{Message, Rcode, Type};
use mirage_dns::zone::{ErrorKind, IncludeError, LoadError, load_zones};

use crate::common::*;

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fn bytes_of(m: &Message) -> Vec<u8> {
    let mut b = Vec::new();
    m.emit(&mut b).unwrap();
    b
}

fn framed(m: &Message) -> Vec<u8> {
    let b = bytes_of(m);
    let mut f = (b.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(&b);
    f
}

/// Reads one length-prefixed message; bytes after it stay in `buf`.
async fn read_framed<F: TcpFlow>(flow: &mut F, buf: &mut Vec<u8>) -> Option<Message> {
    let mut chunk = [0u8; 512];
    loop {
        if buf.len() >= 2 {
            let len = u16::from_be_bytes([buf[0], buf[1]]) as usize;
            if buf.len() >= 2 + len {
                let m = Message::parse(&buf[2..2 + len]).unwrap();
                buf.drain(..2 + len);
                return Some(m);
            }
        }
        let n = flow.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn start(sim: &Simulation, net: &MemInternet, tcp: TcpOptions) -> Zones {
    let zones = Zones::new(zone_set());
    let stack = net.host([SERVER]);
    let clock = sim.clock();
    let z = zones.clone();
    sim.spawn(async move {
        let options = ServeOptions {
            tcp,
            ..ServeOptions::default()
        };
        serve(&stack, &clock, SocketAddr::new(SERVER, 53), z, options).await
    });
    zones
}

#[test]
fn udp_and_tcp_over_the_memory_stack() {
    let mut sim = Simulation::new(1);
    let net = MemInternet::new();
    let zones = start(&sim, &net, TcpOptions::default());
    let client = net.host([CLIENT]);
    let clock = sim.clock();
    sim.block_on(async move {
        // Let the server bind first.
        clock.sleep(Duration::from_millis(1)).await;
        // UDP, with truncation for the big answer.
        let sock = client.udp_bind(SocketAddr::new(CLIENT, 0)).await.unwrap();
        let server = SocketAddr::new(SERVER, 53);
        let mut buf = vec![0u8; 4096];
        sock.send_to(&bytes_of(&query("www.example.com.", Type::A, None)), server)
            .await
            .unwrap();
        let (n, from) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(from, server);
        let m = Message::parse(&buf[..n]).unwrap();
        assert_eq!(lines(&m.answers), ["www.example.com. 3600 IN A 192.0.2.80"]);
        sock.send_to(
            &bytes_of(&query("big.example.com.", Type::TXT, None)),
            server,
        )
        .await
        .unwrap();
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert!(Message::parse(&buf[..n]).unwrap().header.tc);

        // TCP: the truncated answer in full, then several pipelined queries on one connection.
        let mut flow = client.tcp_connect(server).await.unwrap();
        let mut rb = Vec::new();
        flow.write_all(&framed(&query("big.example.com.", Type::TXT, None)))
            .await
            .unwrap();
        let m = read_framed(&mut flow, &mut rb).await.unwrap();
        assert!(!m.header.tc);
        assert_eq!(m.answers.len(), 6);
        let mut burst = Vec::new();
        for (i, name) in [
            "www.example.com.",
            "nope.example.com.",
            "x.wild.example.com.",
        ]
        .iter()
        .enumerate()
        {
            let mut q = query(name, Type::A, Some(1232));
            q.header.id = i as u16;
            burst.extend_from_slice(&framed(&q));
        }
        flow.write_all(&burst).await.unwrap();
        let rcodes: Vec<(u16, Rcode)> = futures_collect(&mut flow, &mut rb, 3)
            .await
            .iter()
            .map(|m| (m.header.id, m.rcode()))
            .collect();
        assert_eq!(
            rcodes,
            [
                (0, Rcode::NOERROR),
                (1, Rcode::NXDOMAIN),
                (2, Rcode::NOERROR)
            ]
        );

        // The zone set can be swapped while serving.
        zones.swap(ZoneSet::new([zone(
            "example.com.",
            &EXAMPLE_COM.replace("192.0.2.80", "192.0.2.88"),
        )]));
        flow.write_all(&framed(&query("www.example.com.", Type::A, None)))
            .await
            .unwrap();
        assert_eq!(
            lines(&read_framed(&mut flow, &mut rb).await.unwrap().answers),
            ["www.example.com. 3600 IN A 192.0.2.88"]
        );

        // RFC 7766 idle timeout: the server closes a silent connection.
        let before = clock.now();
        assert!(read_framed(&mut flow, &mut rb).await.is_none());
        let idle = clock.now() - before;
        assert!(
            idle >= Duration::from_secs(10) && idle < Duration::from_secs(12),
            "{idle:?}"
        );
    })
    .unwrap();
}

async fn futures_collect<F: TcpFlow>(flow: &mut F, buf: &mut Vec<u8>, n: usize) -> Vec<Message> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(read_framed(flow, buf).await.unwrap());
    }
    out
}

#[test]
fn connection_limit_defers_extra_connections() {
    let mut sim = Simulation::new(2);
    let net = MemInternet::new();
    start(
        &sim,
        &net,
        TcpOptions {
            idle_timeout: Duration::from_secs(5),
            max_connections: 1,
        },
    );
    let client = net.host([CLIENT]);
    let clock = sim.clock();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        let server = SocketAddr::new(SERVER, 53);
        let mut first = client.tcp_connect(server).await.unwrap();
        let mut second = client.tcp_connect(server).await.unwrap();
        let start = clock.now();
        second
            .write_all(&framed(&query("www.example.com.", Type::A, None)))
            .await
            .unwrap();
        first
            .write_all(&framed(&query("www.example.com.", Type::A, None)))
            .await
            .unwrap();
        assert!(read_framed(&mut first, &mut Vec::new()).await.is_some());
        // The second connection is served only once the first idles out.
        assert!(read_framed(&mut second, &mut Vec::new()).await.is_some());
        assert!(clock.now() - start >= Duration::from_secs(5));
    })
    .unwrap();
}

#[test]
fn zones_load_from_a_kv_store_with_includes() {
    let mut sim = Simulation::new(3);
    let kv = MemKv::new(sim.clock());
    sim.block_on(async move {
        let set = |k: &str, v: &str| {
            let kv = &kv;
            let (k, v) = (Key::parse(k).unwrap(), Bytes::from(v.to_string()));
            async move { kv.set(&k, v).await.unwrap() }
        };
        set(
            "zones/example.com.zone",
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n$INCLUDE hosts.inc\n",
        )
        .await;
        set("zones/hosts.inc", "ns A 192.0.2.1\nwww A 192.0.2.2\n").await;
        set("zones/example.org.zone", EXAMPLE_ORG).await;
        let zones = load_zones(&kv, &Key::parse("zones").unwrap())
            .await
            .unwrap();
        let origins: Vec<String> = zones.iter().map(|z| z.origin().to_string()).collect();
        assert_eq!(origins, ["example.com.", "example.org."]);
        assert_eq!(zones[0].records().len(), 4);

        set("bad/broken.zone", "$TTL 60\n$INCLUDE missing.inc\n").await;
        match load_zones(&kv, &Key::parse("bad").unwrap()).await {
            Err(LoadError::Parse(e)) => {
                assert_eq!((e.file.as_str(), e.line), ("/bad/broken.zone", 2), "{e}");
                assert!(matches!(
                    e.kind,
                    ErrorKind::Include {
                        reason: IncludeError::NotFound,
                        ..
                    }
                ));
            }
            other => panic!("{other:?}"),
        }
    })
    .unwrap();
}

#[test]
fn a_missing_or_binary_zone_file_is_a_read_error() {
    let mut sim = Simulation::new(4);
    let kv = MemKv::new(sim.clock());
    sim.block_on(async move {
        let origin = "example.com.".parse().unwrap();
        let key = Key::parse("z/example.com.zone").unwrap();
        let e = mirage_dns::zone::load_zone(&kv, &key, &origin)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                LoadError::Read {
                    source: mirage_core::KvError::NotFound(_),
                    ..
                }
            ),
            "{e}"
        );
        kv.set(&key, Bytes::from_static(&[0xff, 0xfe]))
            .await
            .unwrap();
        let e = mirage_dns::zone::load_zone(&kv, &key, &origin)
            .await
            .unwrap_err();
        assert!(matches!(e, LoadError::NotText { .. }), "{e}");
    })
    .unwrap();
}

#[test]
fn hostile_input_does_not_stop_the_server() {
    let mut sim = Simulation::new(5);
    let net = MemInternet::new();
    start(&sim, &net, TcpOptions::default());
    let client = net.host([CLIENT]);
    let clock = sim.clock();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        let server = SocketAddr::new(SERVER, 53);
        let sock = client.udp_bind(SocketAddr::new(CLIENT, 0)).await.unwrap();
        let mut junk: Vec<Vec<u8>> =
            vec![vec![], vec![1, 2, 3], vec![0xff; 12], (0..200u8).collect()];
        let mut response = bytes_of(&query("www.example.com.", Type::A, None));
        response[2] |= 0x80;
        junk.push(response);
        for j in &junk {
            sock.send_to(j, server).await.unwrap();
        }
        sock.send_to(&bytes_of(&query("www.example.com.", Type::A, None)), server)
            .await
            .unwrap();
        let mut buf = vec![0u8; 1500];
        // Only the 200-byte datagram (a FORMERR) and the real query get answers.
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(Message::parse(&buf[..n]).unwrap().rcode(), Rcode::FORMERR);
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(Message::parse(&buf[..n]).unwrap().answers.len(), 1);

        // TCP: an empty frame and a garbage frame, then a real query, on one connection.
        let mut flow = client.tcp_connect(server).await.unwrap();
        let mut burst = vec![0, 0, 0, 20];
        burst.extend_from_slice(&[0x55; 20]);
        burst.extend_from_slice(&framed(&query("www.example.com.", Type::A, None)));
        flow.write_all(&burst).await.unwrap();
        let mut rb = Vec::new();
        assert_eq!(
            read_framed(&mut flow, &mut rb).await.unwrap().rcode(),
            Rcode::FORMERR
        );
        assert_eq!(
            read_framed(&mut flow, &mut rb).await.unwrap().answers.len(),
            1
        );
        // A partial frame and silence: closed at the idle timeout.
        flow.write_all(&[0, 40, 1, 2]).await.unwrap();
        assert!(read_framed(&mut flow, &mut rb).await.is_none());
    })
    .unwrap();
}
