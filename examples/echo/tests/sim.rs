//! The same `start` as the Unix binary, on in-memory devices in virtual
//! time: many concurrent clients, and clients that vanish mid-stream.

#[path = "../src/unikernel.rs"]
mod unikernel;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures::future::join_all;
use mirage_core::mem::{MemInternet, Simulation};
use mirage_core::{Stack, TcpFlow, Time, UdpSocket};

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));

#[test]
fn echoes_many_clients_at_once_in_simulation() {
    let mut sim = Simulation::new(42);
    let net = MemInternet::new();
    let addr = SocketAddr::new(SERVER, 7);
    let server = sim.spawn(unikernel::start(net.host([SERVER]), addr));
    let client = net.host([CLIENT]);
    let clock = sim.clock();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        // A client that goes away without reading its echo.
        let mut rude = client.tcp_connect(addr).await.unwrap();
        rude.write_all(&[1; 1000]).await.unwrap();
        drop(rude);
        let sessions = (0..50u32).map(|i| {
            let client = &client;
            async move {
                let mut flow = client.tcp_connect(addr).await.unwrap();
                let payload: Vec<u8> = (0..10_000 + i).map(|j| (i + j) as u8).collect();
                let mut back = Vec::new();
                let mut buf = [0u8; 1500];
                let mut sent = 0;
                for chunk in payload.chunks(3000) {
                    flow.write_all(chunk).await.unwrap();
                    sent += chunk.len();
                    while back.len() < sent {
                        let n = flow.read(&mut buf).await.unwrap();
                        assert!(n > 0);
                        back.extend_from_slice(&buf[..n]);
                    }
                }
                flow.shutdown().await.unwrap();
                assert_eq!(flow.read(&mut buf).await.unwrap(), 0, "the server closes");
                assert!(back == payload, "session {i} echoed");
            }
        });
        join_all(sessions).await;
        let udp = client.udp_bind(SocketAddr::new(CLIENT, 0)).await.unwrap();
        let mut buf = [0u8; 100];
        for i in 0..10u8 {
            udp.send_to(&[i; 40], addr).await.unwrap();
            let (n, from) = udp.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&[i; 40][..], addr));
        }
    })
    .unwrap();
    assert!(!server.is_finished(), "the appliance keeps serving");
}
