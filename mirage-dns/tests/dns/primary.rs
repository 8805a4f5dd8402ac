//! The primary's request handling as a pure function: zone transfers,
//! updates and NOTIFY with and without TSIG, one test per RFC case; then a
//! primary and a secondary on the in-memory stack in virtual time.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use futures::future::select;
use mirage_core::mem::{MemInternet, MemKv, Simulation};
use mirage_core::{KvRo, PosixTime, Time, WallClock};
use mirage_dns::server::{
    Handler, Options, Policy, Primary, PrimaryOptions, Responder, SecondaryOptions, SecondaryZone,
    ServeOptions, Transport, ZoneSet, Zones, serve_primary, zone_key,
};
use mirage_dns::tsig::{Key, Keyring, Signer, TsigRcode, find_tsig};
use mirage_dns::wire::{Message, Opcode, RData, Rcode, Record, Type};

use crate::common::*;

const NOW: i64 = 1_700_000_000;
const XFR: &str = "hmac-sha256:xfr.key:c2VjcmV0c2VjcmV0";
const UPD: &str = "hmac-sha384:upd.key:dXBkYXRlc2VjcmV0";

#[derive(Clone, Copy)]
struct Fixed(i64);

impl WallClock for Fixed {
    fn now_posix(&self) -> PosixTime {
        PosixTime {
            secs: self.0,
            nanos: 0,
        }
    }
}

fn policy() -> Policy {
    let mut keys = Keyring::new();
    keys.insert(Key::parse_triple(XFR).unwrap()).unwrap();
    keys.insert(Key::parse_triple(UPD).unwrap()).unwrap();
    let mut p = Policy {
        keys,
        ..Policy::default()
    };
    p.default.transfer.add("key:xfr.key").unwrap();
    p.default.transfer.add("192.0.2.0/24").unwrap();
    p.default.update.add("key:upd.key").unwrap();
    p.default.notify_from.add("key:xfr.key").unwrap();
    p
}

fn primary(zones: &Zones) -> Primary<Fixed> {
    let options = PrimaryOptions {
        policy: policy(),
        ..PrimaryOptions::default()
    };
    Primary::new(
        Responder::new(zones.clone(), Options::default()),
        zones.clone(),
        options,
        Fixed(NOW),
    )
}

const FAR: &str = "198.51.100.7:5353";
const NEAR: &str = "192.0.2.9:5353";

/// Sends `m` (signed with `key` at `at` when given); returns the parsed
/// answers and the signer to check them with.
fn exchange(
    p: &mut Primary<Fixed>,
    m: &Message,
    key: Option<&str>,
    at: i64,
    transport: Transport,
    peer: &str,
) -> (Vec<Vec<u8>>, Option<Signer>) {
    let mut bytes = Vec::new();
    m.emit(&mut bytes).unwrap();
    let signer = key.map(|k| {
        let mut s = Signer::new(Key::parse_triple(k).unwrap(), Vec::new());
        s.sign(&mut bytes, at as u64).unwrap();
        s
    });
    let mut out = Vec::new();
    let mut more = Vec::new();
    if !p.handle(
        &bytes,
        transport,
        peer.parse().unwrap(),
        &mut out,
        &mut more,
    ) {
        return (Vec::new(), signer);
    }
    let mut all = vec![out];
    all.extend(more);
    (all, signer)
}

fn records(answers: &[Vec<u8>]) -> Vec<Record> {
    answers
        .iter()
        .flat_map(|a| Message::parse(a).unwrap().answers)
        .collect()
}

fn rcode(answers: &[Vec<u8>]) -> Rcode {
    Message::parse(&answers[0]).unwrap().rcode()
}

#[test]
fn axfr_rfc5936_allowed_by_key_or_address_signed_throughout() {
    let zones = Zones::new(zone_set());
    let mut p = primary(&zones);
    let q = query("example.com.", Type::AXFR, None);
    let (answers, signer) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Tcp, FAR);
    let rs = records(&answers);
    let z = zone_set();
    let zone = z.get(&"example.com.".parse().unwrap()).unwrap();
    assert_eq!(rs.len(), zone.records().len() + 1);
    assert_eq!(
        (rs[0].rtype(), rs[rs.len() - 1].rtype()),
        (Type::SOA, Type::SOA)
    );
    let mut s = signer.unwrap();
    for a in &answers {
        assert!(s.verify_response(a).unwrap(), "every message is signed");
    }
    // From a listed network, unsigned: allowed. From elsewhere: REFUSED.
    let (answers, _) = exchange(&mut p, &q, None, NOW, Transport::Tcp, NEAR);
    assert_eq!(records(&answers).len(), zone.records().len() + 1);
    let (answers, _) = exchange(&mut p, &q, None, NOW, Transport::Tcp, FAR);
    assert_eq!(
        (rcode(&answers), records(&answers).len()),
        (Rcode::REFUSED, 0)
    );
    // A valid key not in the list: REFUSED, signed.
    let (answers, signer) = exchange(&mut p, &q, Some(UPD), NOW, Transport::Tcp, FAR);
    assert_eq!(rcode(&answers), Rcode::REFUSED);
    assert!(signer.unwrap().verify_response(&answers[0]).unwrap());
    // Not over UDP; not for a zone we do not have.
    let (answers, _) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Udp, FAR);
    assert_eq!(rcode(&answers), Rcode::REFUSED);
    let q = query("example.net.", Type::AXFR, None);
    let (answers, _) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Tcp, FAR);
    assert_eq!(rcode(&answers), Rcode::NOTAUTH);
}

#[test]
fn tsig_failures_rfc8945_5_2() {
    let zones = Zones::new(zone_set());
    let mut p = primary(&zones);
    let q = query("example.com.", Type::AXFR, None);
    let tsig_error = |answers: &[Vec<u8>]| find_tsig(&answers[0]).unwrap().unwrap().2.error;
    let (a, _) = exchange(
        &mut p,
        &q,
        Some("hmac-sha256:xfr.key:d3Jvbmc="),
        NOW,
        Transport::Tcp,
        NEAR,
    );
    assert_eq!(
        (rcode(&a), tsig_error(&a)),
        (Rcode::NOTAUTH, TsigRcode::BADSIG)
    );
    assert!(
        records(&a).is_empty(),
        "no zone even from an allowed network"
    );
    let (a, _) = exchange(
        &mut p,
        &q,
        Some("hmac-sha256:nobody:c2VjcmV0"),
        NOW,
        Transport::Tcp,
        NEAR,
    );
    assert_eq!(
        (rcode(&a), tsig_error(&a)),
        (Rcode::NOTAUTH, TsigRcode::BADKEY)
    );
    let (a, signer) = exchange(&mut p, &q, Some(XFR), NOW - 1000, Transport::Tcp, FAR);
    assert_eq!(
        (rcode(&a), tsig_error(&a)),
        (Rcode::NOTAUTH, TsigRcode::BADTIME)
    );
    // BADTIME answers are signed and carry our time.
    let t = find_tsig(&a[0]).unwrap().unwrap().2;
    assert_eq!(t.other, (NOW as u64).to_be_bytes()[2..].to_vec());
    assert!(signer.is_some() && t.mac.len() == 32);
    // A signed answer too big for UDP with its TSIG: truncated and signed.
    let q = query("big.example.com.", Type::TXT, None);
    let (a, signer) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Udp, FAR);
    let m = Message::parse(&a[0]).unwrap();
    assert!(
        m.header.tc && m.answers.is_empty() && a[0].len() <= 512,
        "{m:?}"
    );
    assert!(signer.unwrap().verify_response(&a[0]).unwrap());
    let (a, _) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Tcp, FAR);
    assert_eq!(records(&a).len(), 6);
    // One that fits alone but not with its signature, likewise.
    let long = format!("fit TXT \"{}\" \"{}\"", "a".repeat(255), "b".repeat(150));
    let text = format!("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{long}\n");
    let zones = Zones::new(ZoneSet::new([zone("example.com.", &text)]));
    let mut p2 = primary(&zones);
    let q = query("fit.example.com.", Type::TXT, None);
    let plain = ask_msg(
        &mut Responder::new(zones.clone(), Options::default()),
        &q,
        Transport::Udp,
    );
    assert!(!plain.header.tc && plain.answers.len() == 1);
    let (a, signer) = exchange(&mut p2, &q, Some(XFR), NOW, Transport::Udp, FAR);
    let m = Message::parse(&a[0]).unwrap();
    assert!(
        m.header.tc && m.header.aa && m.answers.is_empty() && a[0].len() <= 512,
        "{m:?}"
    );
    assert!(signer.unwrap().verify_response(&a[0]).unwrap());
    // A plain query signed with a good key gets a signed answer.
    let q = query("www.example.com.", Type::A, None);
    let (a, signer) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Udp, FAR);
    assert_eq!(records(&a).len(), 1);
    assert!(signer.unwrap().verify_response(&a[0]).unwrap());
}

fn update_msg(add: &[&str]) -> Message {
    let mut m = query("example.com.", Type::SOA, None);
    m.header.opcode = Opcode::UPDATE.0;
    m.header.rd = false;
    let origin = "example.com.".parse().unwrap();
    for text in add {
        let mut rs =
            mirage_dns::zone::parse_str(&format!("$TTL 60\n{text}\n"), "u", &origin).unwrap();
        m.authority.append(&mut rs);
    }
    m
}

#[test]
fn update_rfc2136_needs_a_listed_key_and_ixfr_rfc1995_follows() {
    let zones = Zones::new(zone_set());
    let mut p = primary(&zones);
    let before = zones.current();
    let m = update_msg(&["new A 192.0.2.200"]);
    for (key, peer, want) in [
        (None, NEAR, Rcode::REFUSED),
        (Some(XFR), NEAR, Rcode::REFUSED),
        (Some("hmac-sha384:upd.key:d3Jvbmc="), NEAR, Rcode::NOTAUTH),
    ] {
        let (a, _) = exchange(&mut p, &m, key, NOW, Transport::Udp, peer);
        assert_eq!(rcode(&a), want, "{key:?}");
        assert!(
            std::sync::Arc::ptr_eq(&before, &zones.current()),
            "nothing changed"
        );
    }
    let (a, signer) = exchange(&mut p, &m, Some(UPD), NOW, Transport::Udp, FAR);
    assert_eq!(rcode(&a), Rcode::NOERROR);
    assert!(signer.unwrap().verify_response(&a[0]).unwrap());
    let after = zones.current();
    let zone = after.get(&"example.com.".parse().unwrap()).unwrap();
    assert_eq!(zone.soa().serial, 2024010102);
    let mut r = Responder::new(zones.clone(), Options::default());
    assert_eq!(
        lines(&ask(&mut r, "new.example.com.", Type::A).answers),
        ["new.example.com. 60 IN A 192.0.2.200"]
    );
    // IXFR from the old serial: the difference; from an unknown one: everything.
    let mut q = query("example.com.", Type::IXFR, None);
    let mut old_soa = before
        .get(&"example.com.".parse().unwrap())
        .unwrap()
        .soa_record()
        .clone();
    q.authority.push(old_soa.clone());
    let (a, _) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Tcp, FAR);
    let got = lines(&records(&a));
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[3], "new.example.com. 60 IN A 192.0.2.200");
    if let RData::Soa(s) = &mut old_soa.data {
        s.serial = 5;
    }
    q.authority = vec![old_soa];
    let (a, _) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Tcp, FAR);
    assert_eq!(records(&a).len(), zone.records().len() + 1);
    // Over UDP, IXFR gets the current SOA alone (RFC 1995 §2).
    let (a, _) = exchange(&mut p, &q, Some(XFR), NOW, Transport::Udp, FAR);
    assert_eq!(lines(&records(&a)), [zone.soa_record().to_string()]);
}

#[test]
fn notify_rfc1996_needs_the_notify_acl() {
    let zones = Zones::new(zone_set());
    let mut p = primary(&zones);
    let mut m = query("example.com.", Type::SOA, None);
    m.header.opcode = Opcode::NOTIFY.0;
    m.header.aa = true;
    let (a, _) = exchange(&mut p, &m, None, NOW, Transport::Udp, NEAR);
    assert_eq!(rcode(&a), Rcode::REFUSED);
    let (a, signer) = exchange(&mut p, &m, Some(XFR), NOW, Transport::Udp, FAR);
    let answer = Message::parse(&a[0]).unwrap();
    assert_eq!(
        (answer.rcode(), answer.header.aa, answer.opcode()),
        (Rcode::NOERROR, true, Opcode::NOTIFY)
    );
    assert!(signer.unwrap().verify_response(&a[0]).unwrap());
}

const P: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const S: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));

fn small_zone(serial: u32, extra: &str) -> ZoneSet {
    let text =
        format!("$TTL 60\n@ SOA ns hm {serial} 60 30 600 60\n@ NS ns\nns A 10.0.0.1\n{extra}");
    ZoneSet::new([zone("example.com.", &text)])
}

#[test]
fn secondary_follows_notify_keeps_its_copy_then_expires() {
    let mut sim = Simulation::with_epoch(
        7,
        PosixTime {
            secs: NOW,
            nanos: 0,
        },
    );
    let net = MemInternet::new();
    let origin: mirage_dns::wire::Name = "example.com.".parse().unwrap();

    // The primary: NOTIFYs the secondary, signed; stops when told.
    let p_zones = Zones::new(small_zone(1, "www A 192.0.2.1\n"));
    let stop = Rc::new(Cell::new(false));
    {
        let (stack, clock, zones, stop) =
            (net.host([P]), sim.clock(), p_zones.clone(), stop.clone());
        let mut pol = policy();
        pol.default.notify = vec![SocketAddr::new(S, 53)];
        pol.default.notify_key = Some("xfr.key".parse().unwrap());
        let kv = MemKv::new(sim.clock());
        sim.spawn(async move {
            let server = std::pin::pin!(serve_primary(
                &stack,
                &clock,
                SocketAddr::new(P, 53),
                zones,
                PrimaryOptions {
                    policy: pol,
                    ..PrimaryOptions::default()
                },
                ServeOptions::default(),
                Some(&kv),
            ));
            let halt = std::pin::pin!(async {
                while !stop.get() {
                    clock.sleep(Duration::from_millis(100)).await;
                }
            });
            let _ = select(server, halt).await;
        });
    }
    // The secondary: starts empty; keeps its copies in a store.
    let s_zones = Zones::new(ZoneSet::default());
    let s_store = MemKv::new(sim.clock());
    {
        let (stack, clock, zones) = (net.host([S]), sim.clock(), s_zones.clone());
        let key = std::sync::Arc::new(Key::parse_triple(XFR).unwrap());
        let secondary = SecondaryOptions {
            zones: vec![SecondaryZone {
                origin: origin.clone(),
                primary: SocketAddr::new(P, 53),
                key: Some(key),
            }],
            timeout: Duration::from_secs(2),
            ..SecondaryOptions::default()
        };
        let store = s_store.clone();
        sim.spawn(async move {
            serve_primary(
                &stack,
                &clock,
                SocketAddr::new(S, 53),
                zones,
                PrimaryOptions {
                    policy: policy(),
                    secondary,
                    ..PrimaryOptions::default()
                },
                ServeOptions::default(),
                Some(&store),
            )
            .await
        });
    }
    let serial = |z: &Zones| z.current().get(&origin).map(|z| z.soa().serial);
    sim.run_for(Duration::from_secs(3)).unwrap();
    assert_eq!(serial(&s_zones), Some(1));
    // A new serial on the primary arrives by NOTIFY, well before the 60 s refresh.
    p_zones.swap(small_zone(2, "www A 192.0.2.2\nnew A 192.0.2.3\n"));
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(serial(&s_zones), Some(2));
    let copy = s_zones.current().get(&origin).unwrap().clone();
    assert_eq!(&copy, p_zones.current().get(&origin).unwrap());
    let stored = sim
        .block_on(s_store.get(&zone_key(&origin).unwrap()))
        .unwrap()
        .unwrap();
    let stored = String::from_utf8(stored.to_vec()).unwrap();
    assert!(
        stored.contains("new.example.com. 60 IN A 192.0.2.3"),
        "{stored}"
    );
    // The primary goes away: the copy is served through refresh and retry...
    stop.set(true);
    sim.run_for(Duration::from_secs(500)).unwrap();
    assert_eq!(serial(&s_zones), Some(2));
    // ...and dropped once the 600 s expire interval has passed.
    sim.run_for(Duration::from_secs(200)).unwrap();
    assert_eq!(serial(&s_zones), None);
}

#[test]
fn updates_are_written_back_to_the_store() {
    let mut sim = Simulation::with_epoch(
        3,
        PosixTime {
            secs: NOW,
            nanos: 0,
        },
    );
    let net = MemInternet::new();
    let kv = MemKv::new(sim.clock());
    let zones = Zones::new(zone_set());
    {
        let (stack, clock, zones, kv) = (net.host([P]), sim.clock(), zones.clone(), kv.clone());
        sim.spawn(async move {
            serve_primary(
                &stack,
                &clock,
                SocketAddr::new(P, 53),
                zones,
                PrimaryOptions {
                    policy: policy(),
                    ..PrimaryOptions::default()
                },
                ServeOptions::default(),
                Some(&kv),
            )
            .await
        });
    }
    let client = net.host([S]);
    let clock = sim.clock();
    let text = sim
        .block_on(async {
            use mirage_core::{Stack, UdpSocket};
            clock.sleep(Duration::from_millis(1)).await;
            let sock = client.udp_bind(SocketAddr::new(S, 0)).await.unwrap();
            let mut bytes = Vec::new();
            update_msg(&["stored TXT \"kept\""])
                .emit(&mut bytes)
                .unwrap();
            let now = clock.now_posix().secs as u64;
            Signer::new(Key::parse_triple(UPD).unwrap(), Vec::new())
                .sign(&mut bytes, now)
                .unwrap();
            sock.send_to(&bytes, SocketAddr::new(P, 53)).await.unwrap();
            let mut buf = vec![0u8; 4096];
            let (n, _) = sock.recv_from(&mut buf).await.unwrap();
            assert_eq!(Message::parse(&buf[..n]).unwrap().rcode(), Rcode::NOERROR);
            clock.sleep(Duration::from_millis(10)).await;
            let key = zone_key(&"example.com.".parse().unwrap()).unwrap();
            String::from_utf8(kv.get(&key).await.unwrap().to_vec()).unwrap()
        })
        .unwrap();
    assert!(
        text.contains("stored.example.com. 60 IN TXT \"kept\""),
        "{text}"
    );
    assert!(text.contains("2024010102"), "{text}");
}

#[test]
fn primary_never_panics_on_arbitrary_or_mutated_requests() {
    use quickcheck::QuickCheck;
    fn prop(
        m: crate::arbitrary::ArbMessage,
        opcode: u8,
        sign: bool,
        flips: Vec<(usize, u8)>,
        tcp: bool,
    ) -> bool {
        let zones = Zones::new(zone_set());
        let mut p = primary(&zones);
        let mut msg = m.0;
        msg.header.qr = false;
        msg.header.opcode = [0, 4, 5][opcode as usize % 3];
        let mut bytes = Vec::new();
        msg.emit(&mut bytes).unwrap();
        if sign {
            let _ = Signer::new(Key::parse_triple(UPD).unwrap(), Vec::new())
                .sign(&mut bytes, NOW as u64);
        }
        for (at, v) in flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= v;
            }
        }
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let (mut out, mut more) = (Vec::new(), Vec::new());
        let _ = p.handle(&bytes, transport, FAR.parse().unwrap(), &mut out, &mut more);
        let _ = p.handle(
            &bytes[..bytes.len().min(40)],
            transport,
            NEAR.parse().unwrap(),
            &mut out,
            &mut more,
        );
        true
    }
    QuickCheck::new().tests(1000).quickcheck(
        prop as fn(crate::arbitrary::ArbMessage, u8, bool, Vec<(usize, u8)>, bool) -> bool,
    );
}

#[test]
fn transfer_reader_never_panics_and_stays_bounded() {
    use mirage_dns::server::TransferReader;
    use quickcheck::QuickCheck;
    fn prop(rs: crate::arbitrary::ArbMessage, prefix_soa: bool) -> bool {
        let set = zone_set();
        let origin = "example.com.".parse().unwrap();
        let current = set.get(&origin);
        let mut reader = TransferReader::new(origin, current, 10);
        let soa = current.unwrap().soa_record().clone();
        let records = prefix_soa
            .then_some(soa)
            .into_iter()
            .chain(rs.0.answers)
            .chain(rs.0.authority);
        let mut n = 0;
        for r in records {
            if reader.push(r).is_err() {
                return true;
            }
            n += 1;
            if n % 3 == 0 {
                reader.end_of_message();
            }
        }
        let _ = reader.finish();
        true
    }
    QuickCheck::new()
        .tests(1000)
        .quickcheck(prop as fn(crate::arbitrary::ArbMessage, bool) -> bool);
}
