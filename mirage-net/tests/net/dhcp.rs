//! DHCPv4 client against a small DHCP server written for the test, served
//! from a second stack's UDP socket.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use mirage_core::mem::{LinkConfig, Simulation, Switch};
use mirage_core::{MonotonicClock, Stack as _, TcpFlow as _, TcpListener as _, UdpSocket as _};
use mirage_net::{Config, Stack};
use smoltcp::wire::{DhcpMessageType, DhcpPacket, DhcpRepr};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OFFERED: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

/// Answers DISCOVER with OFFER and REQUEST with ACK (always `OFFERED`),
/// `rounds` messages in all; returns the message types it saw.
async fn dhcp_server(sock: mirage_net::UdpSocket, rounds: usize) -> Vec<DhcpMessageType> {
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 1500];
    let dns = [DNS];
    for _ in 0..rounds {
        let (n, _from) = sock.recv_from(&mut buf).await.unwrap();
        let packet = DhcpPacket::new_checked(&buf[..n]).expect("a DHCP packet");
        let req = DhcpRepr::parse(&packet).expect("a valid DHCP message");
        seen.push(req.message_type);
        let reply_type = match req.message_type {
            DhcpMessageType::Discover => DhcpMessageType::Offer,
            DhcpMessageType::Request => DhcpMessageType::Ack,
            _ => continue,
        };
        let reply = DhcpRepr {
            message_type: reply_type,
            transaction_id: req.transaction_id,
            secs: 0,
            client_hardware_address: req.client_hardware_address,
            client_ip: Ipv4Addr::UNSPECIFIED,
            your_ip: OFFERED,
            server_ip: SERVER,
            router: Some(SERVER),
            subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            relay_agent_ip: Ipv4Addr::UNSPECIFIED,
            broadcast: true,
            requested_ip: None,
            client_identifier: None,
            server_identifier: Some(SERVER),
            parameter_request_list: None,
            dns_servers: Some(dns.iter().copied().collect()),
            max_size: None,
            lease_duration: Some(3600),
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        };
        let mut out = vec![0u8; reply.buffer_len()];
        reply
            .emit(&mut DhcpPacket::new_unchecked(&mut out[..]))
            .expect("room for the reply");
        sock.send_to(
            &out,
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, 68)),
        )
        .await
        .unwrap();
    }
    seen
}

#[test]
fn dhcp_lease_configures_the_stack() {
    let mut sim = Simulation::new(30);
    let clock = sim.clock();
    let switch = Switch::new(clock.clone(), 30, LinkConfig::default());
    let (server, rs) = Stack::new(
        switch.attach(),
        clock.clone(),
        sim.random(),
        Config::ipv4_static(SERVER, 24, None),
    )
    .unwrap();
    sim.spawn(rs.run());
    let (client, rc) = Stack::new(
        switch.attach(),
        clock.clone(),
        sim.random(),
        Config::default(),
    )
    .unwrap();
    sim.spawn(rc.run());
    assert_eq!(client.ipv4(), None, "no address before the lease");

    let sock = sim
        .block_on(server.udp_bind("0.0.0.0:67".parse().unwrap()))
        .unwrap()
        .unwrap();
    let dhcpd = sim.spawn(dhcp_server(sock, 2));
    let c = client.clone();
    let info = sim.block_on(async move { c.wait_ipv4().await }).unwrap();
    assert_eq!(info.address, OFFERED);
    assert_eq!(info.prefix_len, 24);
    assert_eq!(info.gateway, Some(SERVER));
    assert_eq!(info.dns_servers, vec![DNS]);
    assert!(clock.now() < mirage_core::Instant::from_millis(30_000));
    assert_eq!(
        sim.block_on(dhcpd).unwrap(),
        vec![DhcpMessageType::Discover, DhcpMessageType::Request]
    );
    assert_eq!(client.counters().dhcp_configured, 1);

    // The leased address works: the server reaches the client over TCP.
    let c = client.clone();
    let listener = sim
        .block_on(c.tcp_listen(SocketAddr::V4(SocketAddrV4::new(OFFERED, 80))))
        .unwrap()
        .unwrap();
    let accept = sim.spawn(async move {
        let mut f = listener.accept().await.unwrap();
        f.write_all(b"leased").await.unwrap();
        f.close().await.unwrap();
    });
    let got = sim
        .block_on(async move {
            let mut f = server
                .tcp_connect(SocketAddr::V4(SocketAddrV4::new(OFFERED, 80)))
                .await
                .unwrap();
            let mut buf = [0; 16];
            let n = f.read(&mut buf).await.unwrap();
            buf[..n].to_vec()
        })
        .unwrap();
    assert_eq!(got, b"leased");
    sim.block_on(accept).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
}
