//! ICMP echo, ARP and gateway routing, checked by a hand-written peer on
//! a raw switch port.

use std::net::Ipv4Addr;
use std::time::Duration;

use mirage_core::mem::LinkConfig;
use mirage_core::network::{Network, recv_frame, send_frame};
use mirage_core::{MacAddress, timeout};
use mirage_net::TcpOptions;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
};

use crate::harness::{A4, pair};

const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

fn ethernet(dst: MacAddress, src: MacAddress, proto: EthernetProtocol, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + len];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.set_dst_addr(EthernetAddress(dst.0));
    eth.set_src_addr(EthernetAddress(src.0));
    eth.set_ethertype(proto);
    buf
}

fn echo_request(dst: MacAddress, src: MacAddress, seq_no: u16) -> Vec<u8> {
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 0x4d4e,
        seq_no,
        data: b"mirage-net",
    };
    let ip = Ipv4Repr {
        src_addr: PEER,
        dst_addr: A4,
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
    };
    let mut buf = ethernet(
        dst,
        src,
        EthernetProtocol::Ipv4,
        ip.buffer_len() + icmp.buffer_len(),
    );
    let caps = ChecksumCapabilities::default();
    let mut ipp = Ipv4Packet::new_unchecked(&mut buf[14..]);
    ip.emit(&mut ipp, &caps);
    icmp.emit(&mut Icmpv4Packet::new_unchecked(ipp.payload_mut()), &caps);
    buf
}

fn arp_reply(ours: MacAddress, to: EthernetAddress, to_ip: Ipv4Addr) -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Reply,
        source_hardware_addr: EthernetAddress(ours.0),
        source_protocol_addr: PEER,
        target_hardware_addr: to,
        target_protocol_addr: to_ip,
    };
    let mut buf = ethernet(
        MacAddress(to.0),
        ours,
        EthernetProtocol::Arp,
        arp.buffer_len(),
    );
    arp.emit(&mut ArpPacket::new_unchecked(&mut buf[14..]));
    buf
}

/// A peer pings A three times, answering A's ARP request for it; every echo
/// request gets its reply.
#[test]
fn the_interface_answers_ping_and_arp() {
    let mut p = pair(50, LinkConfig::default(), TcpOptions::default());
    let mut raw = p.switch.attach();
    let ours = raw.mac_address();
    let a_mac = p.a.mac_address();
    let clock = p.sim.clock();
    let replies = p
        .sim
        .block_on(async move {
            let caps = ChecksumCapabilities::default();
            let mut seen = Vec::new();
            let mut arp_asked = false;
            let mut attempts = 0;
            for seq in 1..=3u16 {
                send_frame(&mut raw, &echo_request(a_mac, ours, seq)).await;
                loop {
                    let mut buf = [0u8; 1600];
                    let wait = recv_frame(&mut raw, &mut buf);
                    let Ok(n) = timeout(&clock, Duration::from_secs(1), wait).await else {
                        // Like ping: smoltcp drops a reply while it resolves
                        // our MAC, so ask again each second.
                        attempts += 1;
                        assert!(attempts < 5, "no echo reply after {attempts} tries");
                        send_frame(&mut raw, &echo_request(a_mac, ours, seq)).await;
                        continue;
                    };
                    let eth = EthernetFrame::new_checked(&buf[..n]).expect("an Ethernet frame");
                    match eth.ethertype() {
                        EthernetProtocol::Arp => {
                            let arp =
                                ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap())
                                    .unwrap();
                            if let ArpRepr::EthernetIpv4 {
                                operation: ArpOperation::Request,
                                source_hardware_addr,
                                source_protocol_addr,
                                target_protocol_addr,
                                ..
                            } = arp
                                && target_protocol_addr == PEER
                            {
                                arp_asked = true;
                                let reply =
                                    arp_reply(ours, source_hardware_addr, source_protocol_addr);
                                send_frame(&mut raw, &reply).await;
                            }
                        }
                        EthernetProtocol::Ipv4 => {
                            let ipp = Ipv4Packet::new_checked(eth.payload()).unwrap();
                            let ip = Ipv4Repr::parse(&ipp, &caps).expect("valid IPv4 checksum");
                            assert_eq!((ip.src_addr, ip.dst_addr), (A4, PEER));
                            let icmp = Icmpv4Packet::new_checked(ipp.payload()).unwrap();
                            match Icmpv4Repr::parse(&icmp, &caps).expect("valid ICMP checksum") {
                                Icmpv4Repr::EchoReply {
                                    ident,
                                    seq_no,
                                    data,
                                } => {
                                    assert_eq!(ident, 0x4d4e);
                                    assert_eq!(data, b"mirage-net");
                                    seen.push(seq_no);
                                    break;
                                }
                                other => panic!("unexpected ICMP {other:?}"),
                            }
                        }
                        _ => {}
                    }
                }
            }
            assert!(arp_asked, "A resolved the peer's MAC with ARP");
            seen
        })
        .unwrap();
    assert_eq!(replies, vec![1, 2, 3]);
}

/// Traffic for an address off the subnet goes to the configured gateway:
/// the raw peer plays the router, answers the ARP request for the gateway
/// address and receives the SYN for 192.0.2.80.
#[test]
fn off_link_traffic_goes_to_the_gateway() {
    use mirage_core::Stack as _;
    use mirage_core::mem::{Simulation, Switch};
    use mirage_net::{Config, Ipv6Config, Stack};

    let mut sim = Simulation::new(51);
    let clock = sim.clock();
    let switch = Switch::new(clock.clone(), 51, LinkConfig::default());
    let config = Config::ipv4_static(A4, 24, Some(PEER)).with_ipv6(Ipv6Config::None);
    let (a, runner) = Stack::new(switch.attach(), clock.clone(), sim.random(), config).unwrap();
    sim.spawn(runner.run());
    let mut router = switch.attach();
    let ours = router.mac_address();
    let far = Ipv4Addr::new(192, 0, 2, 80);
    let syn_seen = sim.spawn(async move {
        let caps = ChecksumCapabilities::default();
        let mut buf = [0u8; 1600];
        loop {
            let n = recv_frame(&mut router, &mut buf).await;
            let eth = EthernetFrame::new_checked(&buf[..n]).unwrap();
            match eth.ethertype() {
                EthernetProtocol::Arp => {
                    let arp =
                        ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
                    if let ArpRepr::EthernetIpv4 {
                        operation: ArpOperation::Request,
                        source_hardware_addr,
                        source_protocol_addr,
                        target_protocol_addr,
                        ..
                    } = arp
                    {
                        assert_eq!(
                            target_protocol_addr, PEER,
                            "A asks for the gateway, not {far}"
                        );
                        let reply = arp_reply(ours, source_hardware_addr, source_protocol_addr);
                        send_frame(&mut router, &reply).await;
                    }
                }
                EthernetProtocol::Ipv4 => {
                    assert_eq!(
                        eth.dst_addr(),
                        EthernetAddress(ours.0),
                        "sent to the router's MAC"
                    );
                    let ip =
                        Ipv4Repr::parse(&Ipv4Packet::new_checked(eth.payload()).unwrap(), &caps)
                            .unwrap();
                    assert_eq!(ip.next_header, IpProtocol::Tcp);
                    return ip.dst_addr;
                }
                _ => {}
            }
        }
    });
    let tcp = a.clone();
    let connect = sim.spawn(async move {
        let to = std::net::SocketAddr::from((far, 80));
        timeout(&clock, Duration::from_secs(3), tcp.tcp_connect(to)).await
    });
    assert_eq!(sim.block_on(syn_seen).unwrap(), far);
    // Nobody answers behind the "router": the connect is still pending.
    let r = sim.block_on(connect).unwrap();
    assert!(r.is_err(), "no SYN-ACK, so the connect waits");
}
