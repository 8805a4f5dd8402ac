//! mirage-net over Netfront: a TCP echo server in the guest, a client stack
//! on the host side of the simulated bridge, all in virtual time.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use mirage_core::network::MacAddress;
use mirage_core::{Stack as _, TcpFlow as _, TcpListener as _};
use mirage_net::{Config, Stack};
use mirage_xen::sim::netback::add_vif;
use mirage_xen::{Netfront, NetfrontOptions};

use crate::setup;

const GUEST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn echo(ring_start: u32, seed: u64) {
    let (mut sim, host, _guest, xen) = setup(seed);
    let nb = add_vif(&host, 1, 0, "00:16:3e:00:00:01");
    let options = NetfrontOptions {
        ring_start,
        ..NetfrontOptions::default()
    };
    let net = sim
        .block_on(async move { Netfront::connect(&xen, 0, options).await })
        .unwrap()
        .unwrap();
    let clock = sim.clock();
    let (guest_stack, runner) = Stack::new(
        net,
        clock.clone(),
        sim.random(),
        Config::ipv4_static(GUEST, 24, None),
    )
    .unwrap();
    sim.spawn(runner.run());
    let port = nb.port(MacAddress([0x02, 0, 0, 0, 0, 2]));
    let (host_stack, runner) = Stack::new(
        port,
        clock,
        sim.random(),
        Config::ipv4_static(HOST, 24, None),
    )
    .unwrap();
    sim.spawn(runner.run());

    let addr = SocketAddr::V4(SocketAddrV4::new(GUEST, 7));
    let listener = sim.block_on(guest_stack.tcp_listen(addr)).unwrap().unwrap();
    let server = sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let mut total = 0;
        loop {
            let n = flow.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            flow.write_all(&buf[..n]).await.unwrap();
            total += n;
        }
        flow.close().await.unwrap();
        total
    });
    let data = payload(300 * 1024);
    let d2 = data.clone();
    let echoed = sim
        .block_on(async move {
            let mut flow = host_stack.tcp_connect(addr).await.unwrap();
            let mut back = Vec::new();
            let mut buf = vec![0u8; 8192];
            // Ping-pong in chunks, so neither side's buffers must hold it all.
            for chunk in d2.chunks(10_000) {
                flow.write_all(chunk).await.unwrap();
                let want = back.len() + chunk.len();
                while back.len() < want {
                    let n = flow.read(&mut buf).await.unwrap();
                    assert!(n > 0, "early EOF");
                    back.extend_from_slice(&buf[..n]);
                }
            }
            flow.shutdown().await.unwrap();
            assert_eq!(flow.read(&mut buf).await.unwrap(), 0);
            back
        })
        .unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "echoed bytes differ");
    assert_eq!(sim.block_on(server).unwrap(), data.len());
}

#[test]
fn tcp_echo_over_netfront() {
    echo(0, 50);
}

#[test]
fn tcp_echo_over_netfront_across_index_wrap() {
    echo(u32::MAX - 100, 51);
}
