use mirage_core::block::{Block, BlockError};
use mirage_core::conformance;
use mirage_core::mem::{MemBlock, Simulation};
use mirage_xen::sim::SimDomain;
use mirage_xen::sim::blkback::{Blkback, DiskConfig, add_vbd};
use mirage_xen::sim::host::SimHost;
use mirage_xen::{Blkfront, BlkfrontError};

use crate::setup;

fn connect(
    seed: u64,
    disk: Vec<u8>,
    config: DiskConfig,
) -> (Simulation, SimHost, Blkback, Blkfront<SimDomain>) {
    let (mut sim, host, _guest, xen) = setup(seed);
    let bb = add_vbd(&host, 1, 768, disk, config);
    let blk = sim
        .block_on(async move { Blkfront::connect(&xen, 768).await })
        .unwrap()
        .unwrap();
    assert!(bb.is_connected());
    (sim, host, bb, blk)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

#[test]
fn geometry_from_xenstore() {
    let (_sim, host, _bb, blk) = connect(
        30,
        vec![0; 64 * 4096],
        DiskConfig {
            sector_size: 4096,
            ..Default::default()
        },
    );
    let info = blk.info();
    assert_eq!(
        (info.sector_size, info.sectors, info.read_write),
        (4096, 64, true)
    );
    assert!(blk.features().flush_cache);
    assert_eq!(
        host.store()
            .read_string("/local/domain/1/device/vbd/768/protocol")
            .as_deref(),
        Some("x86_64-abi")
    );
    assert_eq!(
        host.store()
            .read_string("/local/domain/1/device/vbd/768/state")
            .as_deref(),
        Some("4")
    );
}

#[test]
fn contract_512_byte_sectors() {
    let (mut sim, _host, bb, blk) = connect(31, vec![0; 1024 * 512], DiskConfig::default());
    sim.block_on(conformance::block(&blk)).unwrap();
    assert!(bb.flushes() >= 1);
}

#[test]
fn contract_4096_byte_sectors() {
    let config = DiskConfig {
        sector_size: 4096,
        ..Default::default()
    };
    let (mut sim, _host, _bb, blk) = connect(32, vec![0; 32 * 4096], config);
    sim.block_on(conformance::block(&blk)).unwrap();
}

#[test]
fn contract_read_only() {
    let config = DiskConfig {
        read_only: true,
        ..Default::default()
    };
    let (mut sim, _host, bb, blk) = connect(33, pattern(16 * 512, 3), config);
    assert!(!blk.info().read_write);
    sim.block_on(conformance::block_read_only(&blk)).unwrap();
    sim.block_on(async {
        assert!(matches!(blk.flush().await, Err(BlockError::ReadOnly)));
    })
    .unwrap();
    assert_eq!(bb.disk(), pattern(16 * 512, 3));
}

#[test]
fn big_transfers_split_at_eleven_segments() {
    let (mut sim, _host, bb, blk) = connect(34, vec![0; 2048 * 512], DiskConfig::default());
    let data = pattern(300 * 1024, 9);
    let d2 = data.clone();
    sim.block_on(async {
        // Three buffers of odd (sector-multiple) sizes.
        let (a, rest) = d2.split_at(512 * 37);
        let (b, c) = rest.split_at(512 * 301);
        blk.write(100, &[a, b, c]).await.unwrap();
        let mut back = vec![0u8; d2.len()];
        blk.read(100, &mut [&mut back]).await.unwrap();
        assert_eq!(back, d2);
    })
    .unwrap();
    assert_eq!(bb.max_segments_seen(), 11);
    // 300 KiB in requests of at most 44 KiB, each way.
    assert!(bb.requests() >= 2 * 7, "{} requests", bb.requests());
    assert_eq!(&bb.disk()[100 * 512..100 * 512 + data.len()], &data[..]);
}

#[test]
fn random_operations_match_a_ram_disk() {
    let sectors = 512u64;
    let (mut sim, _host, _bb, blk) =
        connect(35, vec![0; sectors as usize * 512], DiskConfig::default());
    let model = MemBlock::new(512, sectors).unwrap();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    sim.block_on(async {
        for round in 0..150 {
            let start = next() % (sectors + 4);
            let n = 1 + next() % 120;
            let len = (n * 512) as usize;
            if next() % 2 == 0 {
                let data = pattern(len, round as u8);
                let a = blk.write(start, &[&data]).await;
                let b = model.write(start, &[&data]).await;
                assert_eq!(a.is_ok(), b.is_ok(), "write {start}+{n}");
            } else {
                let mut x = vec![0u8; len];
                let mut y = vec![0u8; len];
                let a = blk.read(start, &mut [&mut x]).await;
                let b = model.read(start, &mut [&mut y]).await;
                assert_eq!(a.is_ok(), b.is_ok(), "read {start}+{n}");
                assert_eq!(x, y, "read {start}+{n}");
            }
        }
    })
    .unwrap();
}

#[test]
fn concurrent_callers_share_the_ring() {
    let (mut sim, _host, bb, blk) = connect(36, vec![0; 4096 * 512], DiskConfig::default());
    sim.block_on(async {
        let writes = (0..40u64).map(|i| {
            let blk = &blk;
            async move {
                let data = pattern(512 * 90, i as u8);
                blk.write(i * 100, &[&data]).await.unwrap();
            }
        });
        futures::future::join_all(writes).await;
        for i in 0..40u64 {
            let mut back = vec![0u8; 512 * 90];
            blk.read(i * 100, &mut [&mut back]).await.unwrap();
            assert_eq!(back, pattern(512 * 90, i as u8));
        }
    })
    .unwrap();
    assert_eq!(bb.errors(), 0);
}

#[test]
fn flush_falls_back_to_a_barrier() {
    let config = DiskConfig {
        flush: false,
        barrier: true,
        ..Default::default()
    };
    let (mut sim, _host, bb, blk) = connect(41, vec![0; 64 * 512], config);
    assert!(blk.features().barrier && !blk.features().flush_cache);
    sim.block_on(async { blk.flush().await.unwrap() }).unwrap();
    assert_eq!(bb.flushes(), 1);
}

#[test]
fn flush_without_the_feature_sends_nothing() {
    let config = DiskConfig {
        flush: false,
        ..Default::default()
    };
    let (mut sim, _host, bb, blk) = connect(37, vec![0; 64 * 512], config);
    sim.block_on(async { blk.flush().await.unwrap() }).unwrap();
    assert_eq!(bb.flushes(), 0);
}

#[test]
fn backend_close_disconnects() {
    let (mut sim, _host, bb, blk) = connect(38, vec![0; 64 * 512], DiskConfig::default());
    bb.close();
    sim.block_on(async {
        let mut buf = vec![0u8; 512];
        // Reads may still complete until the close is noticed; then Disconnected.
        let mut tries = 0;
        loop {
            match blk.read(0, &mut [&mut buf]).await {
                Ok(()) => tries += 1,
                Err(BlockError::Disconnected) => break,
                Err(e) => panic!("unexpected {e}"),
            }
            assert!(tries < 10, "the close was never noticed");
        }
        assert!(matches!(blk.error(), Some(BlkfrontError::Closed)));
        assert!(matches!(
            blk.write(0, &[&buf]).await,
            Err(BlockError::Disconnected)
        ));
        blk.close().await.unwrap();
    })
    .unwrap();
    assert!(bb.is_closed());
}

#[test]
fn backend_answering_unknown_ids_disconnects() {
    use mirage_xen::abi::blkif::{BLKIF_RSP_OKAY, BlkifRequest, BlkifResponse};
    use mirage_xen::ring::BackRing;

    let (mut sim, host, bb, blk) = connect(39, vec![0; 64 * 512], DiskConfig::default());
    bb.set_paused(true);
    // A rogue backend on the same ring answers an id never issued.
    let ring_ref: u32 = host
        .store()
        .read_string("/local/domain/1/device/vbd/768/ring-ref")
        .unwrap()
        .parse()
        .unwrap();
    let map = host.dom0().map_grant(1, ring_ref, false).unwrap();
    let mut ring = BackRing::<BlkifRequest, BlkifResponse>::attach(map.page().clone());
    let blk = std::rc::Rc::new(blk);
    let b2 = blk.clone();
    let task = sim.spawn(async move {
        let mut buf = vec![0u8; 512];
        b2.read(0, &mut [&mut buf]).await
    });
    let _ = sim.run_for(std::time::Duration::from_millis(1));
    let req = ring
        .take_request()
        .unwrap()
        .expect("the read is on the ring");
    ring.push_response(&BlkifResponse {
        id: req.id + 1000,
        operation: req.operation,
        status: BLKIF_RSP_OKAY,
    })
    .unwrap();
    assert!(ring.push_responses_and_check_notify());
    host.events().notify(bb.port().unwrap()).unwrap();
    let got = sim.block_on(task).unwrap();
    assert!(matches!(got, Err(BlockError::Disconnected)));
    assert!(matches!(blk.error(), Some(BlkfrontError::UnknownId(_))));
}

#[test]
fn guest_initiated_close() {
    let (mut sim, host, bb, blk) = connect(40, vec![0; 64 * 512], DiskConfig::default());
    let grants = blk.device().xen().grants().clone();
    sim.block_on(async move {
        let data = pattern(512 * 64, 1);
        blk.write(0, &[&data]).await.unwrap();
        blk.close().await.unwrap()
    })
    .unwrap();
    assert_eq!(grants.free_count(), grants.capacity() as usize);
    let _ = sim.run_for(std::time::Duration::from_millis(1));
    assert!(bb.is_closed());
    assert_eq!(
        host.store()
            .read_string("/local/domain/0/backend/vbd/1/768/state")
            .as_deref(),
        Some("6")
    );
}
