//! The appliance's generic `start` on mirage-core's in-memory devices, in
//! virtual time: zones from a `MemKv`, queries over a `MemInternet`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use dns::unikernel::{Config, Error, start};
use mirage_core::mem::{MemInternet, MemKv, Simulation};
use mirage_core::{Bytes, Key, KvRw, Stack, Time, UdpSocket};
use mirage_dns::wire::{Class, Message, Question, Rcode, Type};

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fn zone(addr: &str) -> Bytes {
    Bytes::from(format!(
        "$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A {addr}\n*.w A 192.0.2.99\n"
    ))
}

async fn ask<U: UdpSocket>(sock: &U, name: &str, qtype: Type) -> Message {
    let mut q = Message::default();
    q.header.id = 99;
    q.questions.push(Question {
        name: name.parse().unwrap(),
        qtype,
        qclass: Class::IN,
    });
    let mut bytes = Vec::new();
    q.emit(&mut bytes).unwrap();
    sock.send_to(&bytes, SocketAddr::new(SERVER, 53))
        .await
        .unwrap();
    let mut buf = vec![0u8; 1500];
    let (n, _) = sock.recv_from(&mut buf).await.unwrap();
    Message::parse(&buf[..n]).unwrap()
}

#[test]
fn serves_zones_from_the_store_and_reloads_them() {
    let mut sim = Simulation::new(7);
    let net = MemInternet::new();
    let kv = MemKv::new(sim.clock());
    let key = Key::parse("example.com.zone").unwrap();
    let config = Config {
        addr: SocketAddr::new(SERVER, 53),
        reload: Some(Duration::from_secs(30)),
        serve: Default::default(),
        primary: None,
        write_back: false,
    };
    let (stack, clock, store) = (net.host([SERVER]), sim.clock(), kv.clone());
    sim.block_on(kv.set(&key, zone("192.0.2.80")))
        .unwrap()
        .unwrap();
    sim.spawn(start(stack, clock, store, config));
    let client = net.host([CLIENT]);
    let clock = sim.clock();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        let sock = client.udp_bind(SocketAddr::new(CLIENT, 0)).await.unwrap();
        let m = ask(&sock, "www.example.com.", Type::A).await;
        assert!(m.header.aa);
        assert_eq!(m.answers[0].data.to_string(), "192.0.2.80");
        assert_eq!(
            ask(&sock, "x.w.example.com.", Type::A).await.answers[0]
                .data
                .to_string(),
            "192.0.2.99"
        );
        assert_eq!(
            ask(&sock, "example.net.", Type::A).await.rcode(),
            Rcode::REFUSED
        );

        // A broken zone is not swapped in; a fixed one is.
        kv.set(&key, Bytes::from_static(b"this is not a zone\n"))
            .await
            .unwrap();
        clock.sleep(Duration::from_secs(31)).await;
        assert_eq!(
            ask(&sock, "www.example.com.", Type::A).await.answers[0]
                .data
                .to_string(),
            "192.0.2.80"
        );
        kv.set(&key, zone("192.0.2.81")).await.unwrap();
        clock.sleep(Duration::from_secs(31)).await;
        assert_eq!(
            ask(&sock, "www.example.com.", Type::A).await.answers[0]
                .data
                .to_string(),
            "192.0.2.81"
        );
    })
    .unwrap();
}

#[test]
fn refuses_to_start_without_zones() {
    let mut sim = Simulation::new(8);
    let net = MemInternet::new();
    let kv = MemKv::new(sim.clock());
    let config = Config {
        addr: SocketAddr::new(SERVER, 53),
        reload: None,
        serve: Default::default(),
        primary: None,
        write_back: false,
    };
    let r = sim
        .block_on(start(net.host([SERVER]), sim.clock(), kv, config))
        .unwrap();
    assert!(matches!(r, Err(Error::NoZones)));
}

#[test]
fn each_update_becomes_a_commit_in_an_irmin_store() {
    use mirage_dns::server::{Policy, PrimaryOptions};
    use mirage_dns::tsig::{Key as TsigKey, Keyring, Signer};
    use mirage_irmin::{MemBackend, Repo};

    let mut sim = Simulation::new(11);
    let net = MemInternet::new();
    let repo = Repo::new(MemBackend::default(), sim.clock());
    let main = repo.branch("main").unwrap();
    let key = Key::parse("example.com.zone").unwrap();
    sim.block_on(KvRw::set(&main, &key, zone("192.0.2.80")))
        .unwrap()
        .unwrap();
    let secret = "hmac-sha256:upd:c2VjcmV0c2VjcmV0";
    let mut keys = Keyring::new();
    keys.insert(TsigKey::parse_triple(secret).unwrap()).unwrap();
    let mut policy = Policy {
        keys,
        ..Policy::default()
    };
    policy.default.update.add("key:upd").unwrap();
    let config = Config {
        addr: SocketAddr::new(SERVER, 53),
        reload: None,
        serve: Default::default(),
        primary: Some(PrimaryOptions {
            policy,
            ..PrimaryOptions::default()
        }),
        write_back: true,
    };
    sim.spawn(start(net.host([SERVER]), sim.clock(), main.clone(), config));
    let client = net.host([CLIENT]);
    let clock = sim.clock();
    sim.block_on(async {
        clock.sleep(Duration::from_millis(1)).await;
        let sock = client.udp_bind(SocketAddr::new(CLIENT, 0)).await.unwrap();
        for (i, addr) in ["192.0.2.1", "192.0.2.2"].iter().enumerate() {
            let mut m = Message::default();
            m.header.id = i as u16;
            m.header.opcode = 5;
            m.questions.push(Question {
                name: "example.com.".parse().unwrap(),
                qtype: Type::SOA,
                qclass: Class::IN,
            });
            let origin = "example.com.".parse().unwrap();
            m.authority =
                mirage_dns::zone::parse_str(&format!("new{i} 60 A {addr}\n"), "u", &origin)
                    .unwrap();
            let mut bytes = Vec::new();
            m.emit(&mut bytes).unwrap();
            let now = mirage_core::WallClock::now_posix(&clock).secs as u64;
            Signer::new(TsigKey::parse_triple(secret).unwrap(), Vec::new())
                .sign(&mut bytes, now)
                .unwrap();
            sock.send_to(&bytes, SocketAddr::new(SERVER, 53))
                .await
                .unwrap();
            let mut buf = vec![0u8; 1500];
            let (n, _) = sock.recv_from(&mut buf).await.unwrap();
            assert_eq!(Message::parse(&buf[..n]).unwrap().rcode(), Rcode::NOERROR);
            clock.sleep(Duration::from_millis(10)).await;
            assert_eq!(
                ask(&sock, &format!("new{i}.example.com."), Type::A)
                    .await
                    .answers
                    .len(),
                1
            );
        }
    })
    .unwrap();
    // The first version plus one commit per update.
    let history = sim.block_on(main.history(&key)).unwrap().unwrap();
    assert_eq!(history.len(), 3);
    let text = sim
        .block_on(mirage_core::KvRo::get(&main, &key))
        .unwrap()
        .unwrap();
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("new1.example.com. 60 IN A 192.0.2.2") && text.contains(" 3 7200 "),
        "{text}"
    );
}
