//! The in-memory devices against their contracts, plus the simulation
//! executor and the virtual cable's determinism.
#![cfg(feature = "conformance")]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::time::Duration;

use mirage_core::conformance;
use mirage_core::mem::{
    LinkConfig, MemBlock, MemConsole, MemInternet, MemKv, SeededRandom, Simulation, Switch,
};
use mirage_core::network::{recv_frame, send_frame};
use mirage_core::{
    Block, Bytes, Change, Console, Instant, Key, KvRo, KvRw, MonotonicClock, Network, Time,
};
use quickcheck::{Arbitrary, Gen, quickcheck};

#[test]
fn mem_kv_honours_the_kv_contract() {
    let mut sim = Simulation::new(1);
    let kv = MemKv::new(sim.clock());
    sim.block_on(conformance::kv_rw(&kv)).unwrap();
    assert!(kv.is_empty());
}

#[test]
fn mem_block_honours_the_block_contract() {
    let mut sim = Simulation::new(1);
    for ss in [512, 4096] {
        let dev = MemBlock::new(ss, 16).unwrap();
        sim.block_on(conformance::block(&dev)).unwrap();
    }
    let ro = MemBlock::from_image(512, vec![7; 4096], false).unwrap();
    sim.block_on(conformance::block_read_only(&ro)).unwrap();
    assert!(
        MemBlock::new(500, 4).is_none(),
        "sector size must be a power of two"
    );
    assert!(
        MemBlock::new(512, u64::MAX).is_none(),
        "absurd sizes are refused, not allocated"
    );
}

#[test]
fn virtual_clock_honours_the_time_contract() {
    let mut sim = Simulation::new(1);
    let clock = sim.clock();
    sim.block_on(conformance::time(&clock)).unwrap();
    sim.block_on(conformance::wall_clock(&clock)).unwrap();
    conformance::random(&SeededRandom::new(3));
}

#[test]
fn mem_stack_honours_the_stack_contract() {
    let mut sim = Simulation::new(1);
    let net = MemInternet::new();
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let v6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
    let host = net.host([v4, v6]);
    sim.block_on(conformance::stack(&host, v4)).unwrap();
    sim.block_on(conformance::stack(&host, v6)).unwrap();
}

#[test]
fn console_captures_and_scripts() {
    let mut sim = Simulation::new(1);
    let console = MemConsole::new();
    let c2 = console.clone();
    let reader = sim.spawn(async move {
        let mut lines = Vec::new();
        while let Some(l) = c2.read_line().await.unwrap() {
            lines.push(l);
        }
        lines
    });
    console.push_input("one");
    console.push_input("two");
    console.close_input();
    let lines = sim.block_on(reader).unwrap();
    assert_eq!(lines, ["one", "two"]);
    sim.block_on(console.write_line("out")).unwrap().unwrap();
    assert_eq!(console.output(), ["out"]);
}

#[test]
fn sixty_virtual_seconds_of_timers_run_at_once() {
    let mut sim = Simulation::new(7);
    let clock = sim.clock();
    let fired = Rc::new(RefCell::new(Vec::new()));
    for t in 0..50u64 {
        let clock = clock.clone();
        let fired = fired.clone();
        sim.spawn(async move {
            // Each task ticks with its own period for 60 virtual seconds.
            let period = Duration::from_millis(100 + t * 37);
            while clock.now() + period <= Instant::from_millis(60_000) {
                clock.sleep(period).await;
                fired.borrow_mut().push((clock.now(), t));
            }
        });
    }
    let started = std::time::Instant::now();
    sim.run_until_idle().unwrap();
    let real = started.elapsed();
    let fired = fired.borrow();
    assert!(clock.now() <= Instant::from_millis(60_000));
    assert!(clock.now() >= Instant::from_millis(59_000));
    let expected: usize = (0..50u64).map(|t| (60_000 / (100 + t * 37)) as usize).sum();
    assert_eq!(fired.len(), expected, "every tick fired exactly once");
    assert!(
        fired.windows(2).all(|w| w[0].0 <= w[1].0),
        "ticks fire in time order"
    );
    println!(
        "60 virtual seconds, {} ticks, in {real:?} of real time",
        fired.len()
    );
}

#[test]
fn a_deadlock_is_reported_not_hung() {
    let mut sim = Simulation::new(1);
    let net = MemInternet::new();
    let host = net.host([IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let r = sim.block_on(async {
        use mirage_core::UdpSocket;
        let s = mirage_core::Stack::udp_bind(&host, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut buf = [0; 10];
        s.recv_from(&mut buf).await.unwrap()
    });
    assert!(r.is_err(), "waiting forever on nothing is a Stalled error");
}

/// Sends numbered frames from one port to another through a lossy,
/// reordering cable and records what arrives.
fn cable_trace(seed: u64) -> Vec<(u64, u32)> {
    let mut sim = Simulation::new(seed);
    let clock = sim.clock();
    let config = LinkConfig {
        loss: 0.1,
        duplicate: 0.05,
        reorder: 0.3,
        delay: Duration::from_millis(2),
        jitter: Duration::from_millis(5),
        ..LinkConfig::default()
    };
    let switch = Switch::new(clock.clone(), seed, config);
    let mut a = switch.attach();
    let mut b = switch.attach();
    let _bystander = switch.attach();
    let dst = b.mac_address();
    let src = a.mac_address();
    let sender = sim.spawn({
        let clock = clock.clone();
        async move {
            for i in 0..500u32 {
                let mut frame = vec![0u8; 60];
                frame[..6].copy_from_slice(&dst.0);
                frame[6..12].copy_from_slice(&src.0);
                frame[14..18].copy_from_slice(&i.to_be_bytes());
                send_frame(&mut a, &frame).await;
                clock.sleep(Duration::from_micros(300)).await;
            }
            a.counters()
        }
    });
    let trace = Rc::new(RefCell::new(Vec::new()));
    let t2 = trace.clone();
    let c2 = clock.clone();
    sim.spawn(async move {
        let mut buf = [0u8; 1514];
        loop {
            let n = recv_frame(&mut b, &mut buf).await;
            assert_eq!(n, 60);
            let i = u32::from_be_bytes(buf[14..18].try_into().unwrap());
            t2.borrow_mut().push((c2.now().as_nanos(), i));
        }
    });
    let counters = sim.block_on(sender).unwrap();
    assert_eq!(counters.tx_packets, 500);
    sim.run_for(Duration::from_millis(100)).unwrap();
    trace.take()
}

#[test]
fn the_cable_is_deterministic_and_impaired_as_configured() {
    let one = cable_trace(99);
    let two = cable_trace(99);
    assert_eq!(
        one, two,
        "same seed, same frames in the same order at the same times"
    );
    assert_ne!(one, cable_trace(100), "another seed gives another run");
    let ids: Vec<u32> = one.iter().map(|x| x.1).collect();
    let distinct: std::collections::BTreeSet<u32> = ids.iter().copied().collect();
    assert!(distinct.len() < 500, "some frames were lost");
    assert!(
        distinct.len() > 350,
        "not too many frames were lost: {}",
        distinct.len()
    );
    assert!(ids.len() > distinct.len(), "some frames were duplicated");
    assert!(
        ids.windows(2).any(|w| w[0] > w[1]),
        "some frames were reordered"
    );
}

#[test]
fn the_cable_delivers_broadcast_to_all_others_and_unicast_to_one() {
    let mut sim = Simulation::new(5);
    let switch = Switch::new(sim.clock(), 5, LinkConfig::default());
    let mut a = switch.attach();
    let mut b = switch.attach();
    let mut c = switch.attach();
    let bmac = b.mac_address();
    sim.block_on(async {
        let mut f = vec![0xffu8; 64];
        send_frame(&mut a, &f).await;
        f[..6].copy_from_slice(&bmac.0);
        send_frame(&mut a, &f).await;
        let mut buf = [0u8; 100];
        assert_eq!(recv_frame(&mut b, &mut buf).await, 64);
        assert_eq!(recv_frame(&mut b, &mut buf).await, 64);
        assert_eq!(recv_frame(&mut c, &mut buf).await, 64);
    })
    .unwrap();
    assert_eq!(c.counters().rx_packets, 1, "unicast to b did not reach c");
    // A frame longer than the MTU allows is dropped and counted.
    sim.block_on(send_frame(&mut a, &[0u8; 1600])).unwrap();
    assert_eq!(a.counters().tx_dropped, 1);
}

/// A KV operation for the model-based property test.
#[derive(Debug, Clone)]
enum Op {
    Set(Key, Vec<u8>),
    Remove(Key),
    Batch(Vec<(Key, Option<Vec<u8>>)>),
}

fn small_key(g: &mut Gen) -> Key {
    let names = ["a", "b", "c"];
    let depth = 1 + usize::arbitrary(g) % 3;
    Key::from_segments((0..depth).map(|_| *g.choose(&names).unwrap())).unwrap()
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        match u8::arbitrary(g) % 3 {
            0 => Op::Set(small_key(g), Vec::<u8>::arbitrary(g)),
            1 => Op::Remove(small_key(g)),
            _ => Op::Batch(
                (0..1 + usize::arbitrary(g) % 4)
                    .map(|_| {
                        let v = if bool::arbitrary(g) {
                            Some(Vec::<u8>::arbitrary(g))
                        } else {
                            None
                        };
                        (small_key(g), v)
                    })
                    .collect(),
            ),
        }
    }
}

/// The model: a map from key to value with the tree rules checked by hand.
fn model_set(m: &mut BTreeMap<Key, Vec<u8>>, k: &Key, v: &[u8]) -> bool {
    let prefix_is_value = (1..k.segments().len())
        .any(|n| m.contains_key(&Key::from_segments(k.segments()[..n].iter().cloned()).unwrap()));
    let is_dict = m.keys().any(|x| x != k && x.starts_with(k));
    if prefix_is_value || is_dict {
        return false;
    }
    m.insert(k.clone(), v.to_vec());
    true
}

fn model_remove(m: &mut BTreeMap<Key, Vec<u8>>, k: &Key) {
    m.retain(|x, _| !x.starts_with(k));
}

quickcheck! {
    fn mem_kv_matches_a_model_and_batches_are_all_or_nothing(ops: Vec<Op>) -> bool {
        let mut sim = Simulation::new(0);
        let kv = MemKv::new(sim.clock());
        let mut model: BTreeMap<Key, Vec<u8>> = BTreeMap::new();
        sim.block_on(async {
            for op in ops {
                match op {
                    Op::Set(k, v) => {
                        let ok = model_set(&mut model, &k, &v);
                        if kv.set(&k, Bytes::from(v)).await.is_ok() != ok { return false; }
                    }
                    Op::Remove(k) => {
                        model_remove(&mut model, &k);
                        kv.remove(&k).await.unwrap();
                    }
                    Op::Batch(changes) => {
                        let mut next = model.clone();
                        let mut ok = true;
                        for (k, v) in &changes {
                            match v {
                                Some(v) => ok &= model_set(&mut next, k, v),
                                None => model_remove(&mut next, k),
                            }
                        }
                        let changes = changes.into_iter().map(|(k, v)| match v {
                            Some(v) => Change::Set(k, Bytes::from(v)),
                            None => Change::Remove(k),
                        }).collect();
                        if kv.batch(changes).await.is_ok() != ok { return false; }
                        if ok { model = next; }
                    }
                }
                for (k, v) in &model {
                    if kv.get(k).await.ok().as_deref() != Some(&v[..]) { return false; }
                }
                if kv.len() != model.len() { return false; }
            }
            true
        }).unwrap()
    }

    fn block_reads_return_what_was_written(writes: Vec<(u8, u8)>) -> bool {
        let mut sim = Simulation::new(0);
        let dev = MemBlock::new(512, 32).unwrap();
        let mut model = [0u8; 32];
        sim.block_on(async {
            for (sector, fill) in writes {
                let r = dev.write(u64::from(sector), &[&[fill; 512]]).await;
                if usize::from(sector) < 32 {
                    if r.is_err() { return false; }
                    model[usize::from(sector)] = fill;
                } else if r.is_ok() {
                    return false;
                }
            }
            for (i, fill) in model.iter().enumerate() {
                let mut buf = [0u8; 512];
                dev.read(i as u64, &mut [&mut buf]).await.unwrap();
                if buf != [*fill; 512] { return false; }
            }
            true
        }).unwrap()
    }
}

#[test]
fn a_subtree_is_a_store_of_its_own() {
    use mirage_core::Subtree;
    let mut sim = Simulation::new(1);
    let kv = MemKv::new(sim.clock());
    let view = Subtree::new(kv.clone(), Key::parse("site").unwrap());
    sim.block_on(async {
        kv.set(&Key::parse("outside").unwrap(), Bytes::from_static(b"x"))
            .await
            .unwrap();
        conformance::kv_rw(&view).await;
        view.set(
            &Key::parse("index.html").unwrap(),
            Bytes::from_static(b"hi"),
        )
        .await
        .unwrap();
        assert_eq!(
            &kv.get(&Key::parse("site/index.html").unwrap())
                .await
                .unwrap()[..],
            b"hi"
        );
        assert_eq!(view.list(&Key::root()).await.unwrap().len(), 1);
        // Regions are lent through the view, from the store behind it.
        let region = view
            .region(&Key::parse("index.html").unwrap(), 1, 1)
            .await
            .unwrap()
            .expect("MemKv lends its bytes");
        assert_eq!(region.as_bytes().map(|b| &b[..]), Some(&b"i"[..]));
    })
    .unwrap();
}
