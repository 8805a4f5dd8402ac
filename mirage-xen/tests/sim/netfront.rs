use std::time::Duration;

use futures::future::join;
use mirage_core::network::{LinkState, Network, recv_frame, send_frame};
use mirage_xen::netfront::{MAX_MTU, parse_mac};
use mirage_xen::sim::SimDomain;
use mirage_xen::sim::host::SimHost;
use mirage_xen::sim::netback::{Netback, add_vif};
use mirage_xen::{Netfront, NetfrontError, NetfrontOptions};

use crate::setup;

const MAC: &str = "00:16:3e:00:00:01";

fn frame(i: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[0x00, 0x16, 0x3e, 0, 0, 1]);
    f[6..12].copy_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..18].copy_from_slice(&i.to_be_bytes());
    for (k, b) in f[18..].iter_mut().enumerate() {
        *b = (k as u32).wrapping_mul(31).wrapping_add(i) as u8;
    }
    f
}

fn len_for(i: u32) -> usize {
    60 + (i as usize * 97) % (1514 - 60)
}

fn connect(
    seed: u64,
    options: NetfrontOptions,
) -> (
    mirage_core::mem::Simulation,
    Netback,
    Netfront<SimDomain>,
    SimHost,
) {
    let (mut sim, host, _guest, xen) = setup(seed);
    let nb = add_vif(&host, 1, 0, MAC);
    let x2 = xen.clone();
    let net = sim
        .block_on(async move { Netfront::connect(&x2, 0, options).await })
        .unwrap()
        .unwrap();
    assert!(nb.is_connected());
    (sim, nb, net, host)
}

#[test]
fn handshake_reads_mac_and_mtu() {
    let (_sim, _nb, net, host) = connect(20, NetfrontOptions::default());
    assert_eq!(Some(net.mac_address()), parse_mac(MAC));
    assert_eq!(net.capabilities().mtu, 1500);
    assert_eq!(MAX_MTU, 4082);
    // The handshake left both sides connected, with our details published.
    let read = |p: &str| host.store().read_string(p).unwrap();
    assert_eq!(read("/local/domain/1/device/vif/0/state"), "4");
    assert_eq!(read("/local/domain/0/backend/vif/1/0/state"), "4");
    assert_eq!(read("/local/domain/1/device/vif/0/request-rx-copy"), "1");
    let port: u32 = read("/local/domain/1/device/vif/0/event-channel")
        .parse()
        .unwrap();
    assert!(port > 0);
    assert_eq!(net.device().backend(), "/local/domain/0/backend/vif/1/0");
    assert_eq!(net.device().backend_id(), 0);
}

#[test]
fn frames_both_ways() {
    let (mut sim, nb, mut net, _xen) = connect(21, NetfrontOptions::default());
    let nb2 = nb.clone();
    let n = 300u32;
    sim.block_on(async move {
        let send = async {
            for i in 0..n {
                send_frame(&mut net, &frame(i, len_for(i))).await;
            }
            net
        };
        let recv = async {
            for i in 0..n {
                assert_eq!(nb2.recv().await, frame(i, len_for(i)), "frame {i}");
            }
        };
        let (mut net, ()) = join(send, recv).await;
        for i in 0..n {
            nb2.send(frame(i + 1000, len_for(i)));
        }
        let mut buf = vec![0u8; 2048];
        for i in 0..n {
            let len = recv_frame(&mut net, &mut buf).await;
            assert_eq!(&buf[..len], &frame(i + 1000, len_for(i))[..], "frame {i}");
        }
        let c = net.counters();
        assert_eq!((c.tx_packets, c.rx_packets), (u64::from(n), u64::from(n)));
        assert_eq!((c.tx_dropped, c.rx_dropped), (0, 0));
    })
    .unwrap();
}

#[test]
fn ring_full_then_drain() {
    let options = NetfrontOptions {
        rx_buffers: 16,
        tx_buffers: 256,
        ring_start: 0,
    };
    let (mut sim, nb, mut net, _xen) = connect(22, options);
    nb.set_paused(true);
    let nb2 = nb.clone();
    sim.block_on(async move {
        // Fill the transmit ring: the 257th frame finds no room.
        let mut sent = 0u32;
        loop {
            let full = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(match net.transmit(cx) {
                    Some(tx) => {
                        mirage_core::network::TxToken::consume(tx, 100, |b| {
                            b.copy_from_slice(&frame(sent, 100))
                        });
                        false
                    }
                    None => true,
                })
            })
            .await;
            if full {
                break;
            }
            sent += 1;
        }
        assert_eq!(sent, 256);
        // Many more frames for the guest than buffers posted.
        for i in 0..500 {
            nb2.send(frame(i, len_for(i)));
        }
        nb2.set_paused(false);
        for i in 0..sent {
            assert_eq!(nb2.recv().await, frame(i, 100));
        }
        let mut buf = vec![0u8; 2048];
        for i in 0..500 {
            let len = recv_frame(&mut net, &mut buf).await;
            assert_eq!(&buf[..len], &frame(i, len_for(i))[..]);
        }
        assert_eq!(nb2.queued_to_guest(), 0);
        // Room again after the backend answered.
        send_frame(&mut net, &frame(9, 64)).await;
        assert_eq!(nb2.recv().await, frame(9, 64));
    })
    .unwrap();
}

#[test]
fn indices_wrap_past_u32_max() {
    let options = NetfrontOptions {
        rx_buffers: 32,
        tx_buffers: 32,
        ring_start: u32::MAX - 700,
    };
    let (mut sim, nb, mut net, _xen) = connect(23, options);
    let nb2 = nb.clone();
    let n = 2000u32;
    sim.block_on(async move {
        let send = async {
            for i in 0..n {
                send_frame(&mut net, &frame(i, 64 + (i as usize % 200))).await;
            }
            net
        };
        let recv = async {
            for i in 0..n {
                assert_eq!(nb2.recv().await, frame(i, 64 + (i as usize % 200)));
            }
        };
        let (mut net, ()) = join(send, recv).await;
        let mut buf = vec![0u8; 2048];
        // Far more than the 32 posted buffers: most wait in the backend.
        for i in 0..n {
            nb2.send(frame(i, 64 + (i as usize % 300)));
        }
        for i in 0..n {
            let len = recv_frame(&mut net, &mut buf).await;
            assert_eq!(&buf[..len], &frame(i, 64 + (i as usize % 300))[..]);
        }
        assert_eq!(net.counters().rx_packets, u64::from(n));
    })
    .unwrap();
}

#[test]
fn backend_close_reports_the_device_gone() {
    let (mut sim, nb, mut net, _xen) = connect(24, NetfrontOptions::default());
    nb.close();
    sim.block_on(async {
        std::future::poll_fn(|cx| match net.link_state(cx) {
            LinkState::Down => std::task::Poll::Ready(()),
            LinkState::Up => std::task::Poll::Pending,
        })
        .await;
        assert!(net.is_gone());
        assert!(matches!(net.error(), Some(NetfrontError::Closed)));
        assert!(
            std::future::poll_fn(|cx| std::task::Poll::Ready(net.transmit(cx).is_none())).await
        );
        net.close().await.unwrap();
    })
    .unwrap();
    let _ = sim.run_for(Duration::from_millis(1));
    assert!(nb.is_closed());
}

#[test]
fn backend_answering_unknown_ids_makes_the_device_gone() {
    use mirage_xen::abi::netif::{NetifRxRequest, NetifRxResponse};
    use mirage_xen::ring::BackRing;

    let (mut sim, host, _guest, xen) = setup(25);
    let nb = add_vif(&host, 1, 0, MAC);
    let x2 = xen.clone();
    let mut net = sim
        .block_on(async move { Netfront::connect(&x2, 0, NetfrontOptions::default()).await })
        .unwrap()
        .unwrap();
    nb.set_paused(true);
    // Play a rogue backend on the rx ring.
    let rx_ref: u32 = host
        .store()
        .read_string("/local/domain/1/device/vif/0/rx-ring-ref")
        .unwrap()
        .parse()
        .unwrap();
    let map = host.dom0().map_grant(1, rx_ref, false).unwrap();
    let mut ring = BackRing::<NetifRxRequest, NetifRxResponse>::attach(map.page().clone());
    let req = ring.take_request().unwrap().unwrap();
    ring.push_response(&NetifRxResponse {
        id: req.id + 5000,
        offset: 0,
        flags: 0,
        status: 60,
    })
    .unwrap();
    ring.push_responses_and_check_notify();
    sim.block_on(async {
        std::future::poll_fn(|cx| match net.link_state(cx) {
            LinkState::Down => std::task::Poll::Ready(()),
            LinkState::Up => std::task::Poll::Pending,
        })
        .await;
    })
    .unwrap();
    assert!(matches!(
        net.error(),
        Some(NetfrontError::UnknownId { ring: "rx", .. })
    ));
}

#[test]
fn guest_initiated_close() {
    let (mut sim, nb, net, host) = connect(26, NetfrontOptions::default());
    assert_eq!(
        host.store()
            .read_string("/local/domain/1/device/vif/0/state")
            .as_deref(),
        Some("4")
    );
    let grants = net.device().xen().grants().clone();
    assert!(grants.free_count() < grants.capacity() as usize);
    sim.block_on(async move { net.close().await.unwrap() })
        .unwrap();
    let _ = sim.run_for(Duration::from_millis(1));
    assert!(nb.is_closed());
    // Every ring, buffer and in-flight grant was revoked.
    assert_eq!(grants.free_count(), grants.capacity() as usize);
    assert_eq!(
        host.store()
            .read_string("/local/domain/1/device/vif/0/state")
            .as_deref(),
        Some("6")
    );
    assert_eq!(
        host.store()
            .read_string("/local/domain/0/backend/vif/1/0/state")
            .as_deref(),
        Some("6")
    );
}

/// Plays a rogue backend that answers posted receive buffers with
/// arbitrary responses, then drains the frontend: it delivers frames or
/// goes gone, and never panics or hangs.
fn rogue_rx(
    responses: Vec<(u16, u16, u16, i16)>,
    seed: u64,
) -> (usize, Option<NetfrontError>, u64) {
    use mirage_core::network::RxToken as _;
    use mirage_xen::abi::netif::{NetifRxRequest, NetifRxResponse};
    use mirage_xen::ring::BackRing;

    let (mut sim, nb, mut net, host) = connect(seed, NetfrontOptions::default());
    nb.set_paused(true);
    let rx_ref: u32 = host
        .store()
        .read_string("/local/domain/1/device/vif/0/rx-ring-ref")
        .unwrap()
        .parse()
        .unwrap();
    let map = host.dom0().map_grant(1, rx_ref, false).unwrap();
    let mut ring = BackRing::<NetifRxRequest, NetifRxResponse>::attach(map.page().clone());
    for (id, offset, flags, status) in responses {
        if ring.take_request().ok().flatten().is_none() {
            break;
        }
        ring.push_response(&NetifRxResponse {
            id: id % 80,
            offset: offset % 4200,
            flags: flags & 0x1f,
            status,
        })
        .unwrap();
    }
    ring.push_responses_and_check_notify();
    let mut frames = 0;
    sim.block_on(std::future::poll_fn(|cx| {
        loop {
            match net.receive(cx) {
                Some((rx, _tx)) => {
                    rx.consume(|f| assert!(f.len() <= 4096));
                    frames += 1;
                }
                None => return std::task::Poll::Ready(()),
            }
        }
    }))
    .unwrap();
    (frames, net.error().cloned(), net.counters().rx_dropped)
}

#[test]
fn quickcheck_rogue_rx_responses_never_panic() {
    fn prop(responses: Vec<(u16, u16, u16, i16)>) -> bool {
        rogue_rx(responses, 27).0 <= 64
    }
    quickcheck::QuickCheck::new()
        .tests(40)
        .quickcheck(prop as fn(Vec<(u16, u16, u16, i16)>) -> bool);
}

#[test]
fn bad_offsets_and_flags_make_the_device_gone() {
    // A frame reaching past the page.
    let (n, e, _) = rogue_rx(vec![(0, 4000, 0, 200)], 28);
    assert_eq!(n, 0);
    assert!(matches!(
        e,
        Some(NetfrontError::BadFrame {
            offset: 4000,
            len: 200
        })
    ));
    // Fragments that were never negotiated.
    let (_, e, _) = rogue_rx(vec![(0, 0, 8, 60)], 29);
    assert!(matches!(e, Some(NetfrontError::UnexpectedFlags(8))));
    // The same buffer answered twice.
    let (_, e, _) = rogue_rx(vec![(3, 0, 0, 60), (3, 0, 0, 60)], 30);
    assert!(matches!(
        e,
        Some(NetfrontError::UnknownId { ring: "rx", id: 3 })
    ));
    // A good frame then an error status: one frame, one drop, still up.
    let (n, e, dropped) = rogue_rx(vec![(0, 0, 0, 60), (1, 0, 0, -1)], 31);
    assert_eq!((n, dropped), (1, 1));
    assert!(e.is_none());
}

fn connect_with(
    seed: u64,
    options: NetfrontOptions,
    config: mirage_xen::sim::netback::VifConfig,
) -> (
    mirage_core::mem::Simulation,
    Netback,
    Result<Netfront<SimDomain>, NetfrontError>,
) {
    let (mut sim, host, _guest, xen) = setup(seed);
    let nb = mirage_xen::sim::netback::add_vif_with(&host, 1, 0, MAC, config);
    let net = sim
        .block_on(async move { Netfront::connect(&xen, 0, options).await })
        .unwrap();
    (sim, nb, net)
}

#[test]
fn jumbo_frames_with_scatter_gather() {
    use mirage_xen::sim::netback::VifConfig;
    let options = NetfrontOptions {
        rx_buffers: 16,
        tx_buffers: 8,
        ring_start: u32::MAX - 40,
    };
    let config = VifConfig {
        sg: true,
        mtu: Some(9000),
    };
    let (mut sim, nb, net) = connect_with(80, options, config);
    let mut net = net.unwrap();
    assert_eq!(net.capabilities().mtu, 9000);
    let sizes = |i: u32| 60 + (i as usize * 1237) % (9014 - 60 + 1);
    let nb2 = nb.clone();
    sim.block_on(async move {
        let n = 150u32;
        let send = async {
            for i in 0..n {
                send_frame(&mut net, &frame(i, sizes(i))).await;
            }
            net
        };
        let recv = async {
            for i in 0..n {
                assert_eq!(
                    nb2.recv().await,
                    frame(i, sizes(i)),
                    "frame {i} to the host"
                );
            }
        };
        let (mut net, ()) = join(send, recv).await;
        // More jumbo frames than the 16 posted buffers hold at once.
        for i in 0..n {
            nb2.send(frame(i + 7, sizes(i + 7)));
        }
        let mut buf = vec![0u8; 9014];
        for i in 0..n {
            let len = recv_frame(&mut net, &mut buf).await;
            assert_eq!(
                &buf[..len],
                &frame(i + 7, sizes(i + 7))[..],
                "frame {i} to the guest"
            );
        }
        let c = net.counters();
        assert_eq!((c.rx_packets, c.tx_packets), (u64::from(n), u64::from(n)));
        assert_eq!((c.rx_dropped, c.tx_dropped), (0, 0));
    })
    .unwrap();
    assert_eq!(nb.tx_errors(), 0);
}

#[test]
fn jumbo_mtu_needs_scatter_gather() {
    use mirage_xen::sim::netback::VifConfig;
    let config = VifConfig {
        sg: false,
        mtu: Some(9000),
    };
    let (_sim, _nb, net) = connect_with(81, NetfrontOptions::default(), config);
    assert!(matches!(net, Err(NetfrontError::BadMtu(_))));
    let config = VifConfig {
        sg: false,
        mtu: Some(4082),
    };
    let (mut sim, nb, net) = connect_with(82, NetfrontOptions::default(), config);
    let mut net = net.unwrap();
    sim.block_on(async move {
        send_frame(&mut net, &frame(1, 4096)).await;
        assert_eq!(nb.recv().await, frame(1, 4096));
        // Without sg the backend cannot deliver a frame beyond a page.
        nb.send(frame(2, 5000));
        nb.send(frame(3, 100));
        let mut buf = vec![0u8; 9000];
        let len = recv_frame(&mut net, &mut buf).await;
        assert_eq!(&buf[..len], &frame(3, 100)[..]);
        assert_eq!(net.counters().rx_dropped, 1);
    })
    .unwrap();
}
