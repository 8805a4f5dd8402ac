#![doc = include_str!("../README.md")]

pub mod pcap;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mirage_core::mem::{LinkConfig, Simulation, Switch};
use mirage_core::{Stack as _, TcpFlow, Time, UdpSocket, timeout};
use mirage_dns::wire::{Class, Message, Question, Type};
use mirage_irmin::{HashKind, MemBackend, Repo};
use mirage_net::{Config as NetConfig, Stack};

use crate::pcap::PcapNetwork;

/// The appliance's address on the simulated network.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// What a capture run produced.
#[derive(Debug)]
pub struct Run {
    /// The pcap file of everything the appliance's device carried.
    pub pcap: Vec<u8>,
    /// Frames the appliance's device received and sent.
    pub frames: u64,
    /// The DNS answer the client got for `example.org A`.
    pub dns_answer: Vec<String>,
    /// The HTTP status line the client got for `/`.
    pub http_status: String,
}

/// Runs the homepage appliance on our TCP/IP stack over a recording
/// device, lets a client ask it one DNS and one HTTP question, and returns
/// the capture. Everything runs in virtual time from `seed`.
pub fn capture_homepage(seed: u64) -> Run {
    let mut sim = Simulation::new(seed);
    let clock = sim.clock();
    let switch = Switch::new(clock.clone(), seed, LinkConfig::default());

    // The custom device: the switch port, wrapped to record every frame.
    let device = PcapNetwork::new(switch.attach(), clock.clone());
    let capture = device.capture();
    let (server, runner) = Stack::new(
        device,
        clock.clone(),
        sim.random(),
        NetConfig::ipv4_static(SERVER, 24, None),
    )
    .expect("a valid stack configuration");
    sim.spawn(runner.run());
    let (client, runner) = Stack::new(
        switch.attach(),
        clock.clone(),
        sim.random(),
        NetConfig::ipv4_static(CLIENT, 24, None),
    )
    .expect("a valid stack configuration");
    sim.spawn(runner.run());

    let repo = Repo::new(MemBackend::new(HashKind::Sha1), clock.clone());
    sim.block_on(homepage::demo::seed(&repo, "main"))
        .expect("no deadlock")
        .expect("the demo commits");
    let config = homepage::unikernel::Config {
        branch: "main".into(),
        http: SocketAddr::new(SERVER.into(), 80),
        dns: SocketAddr::new(SERVER.into(), 53),
        poll: None,
        hook_secret: None,
        http_config: Default::default(),
        dns_options: Default::default(),
        site_options: Default::default(),
    };
    sim.spawn(homepage::unikernel::start(
        server,
        clock.clone(),
        repo,
        homepage::upstream::SharedRepository,
        config,
    ));

    let (dns_answer, http_status) = sim
        .block_on(async {
            clock.sleep(Duration::from_millis(5)).await;
            // One DNS question over UDP.
            let socket = client
                .udp_bind(SocketAddr::new(CLIENT.into(), 0))
                .await
                .expect("bind");
            let mut query = Message::default();
            query.header.id = 7;
            query.questions.push(Question {
                name: "example.org.".parse().expect("a valid name"),
                qtype: Type::A,
                qclass: Class::IN,
            });
            let mut bytes = Vec::new();
            query.emit(&mut bytes).expect("a small query");
            socket
                .send_to(&bytes, SocketAddr::new(SERVER.into(), 53))
                .await
                .expect("send");
            let mut buf = [0u8; 1500];
            let (n, _) = timeout(&clock, Duration::from_secs(5), socket.recv_from(&mut buf))
                .await
                .expect("an answer within 5 s")
                .expect("recv");
            let answer = Message::parse(&buf[..n]).expect("a well-formed answer");
            let dns: Vec<String> = answer.answers.iter().map(|r| r.to_string()).collect();

            // One HTTP request over TCP.
            let mut flow = client
                .tcp_connect(SocketAddr::new(SERVER.into(), 80))
                .await
                .expect("connect");
            flow.write_all(b"GET / HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n")
                .await
                .expect("send the request");
            let mut resp = Vec::new();
            loop {
                let n = flow.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                resp.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&resp);
            let status = text.lines().next().unwrap_or("").to_owned();
            // Let the connection's close handshake finish on the wire.
            clock.sleep(Duration::from_millis(50)).await;
            (dns, status)
        })
        .expect("no deadlock");
    let pcap = capture.to_bytes();
    let frames = pcap_records(&pcap).len() as u64;
    Run {
        pcap,
        frames,
        dns_answer,
        http_status,
    }
}

/// The frames of a pcap file written by [`pcap::PcapNetwork`].
pub fn pcap_records(pcap: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = pcap.get(24..).unwrap_or(&[]);
    while rest.len() >= 16 {
        let len = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]) as usize;
        let Some(frame) = rest.get(16..16 + len) else {
            break;
        };
        out.push(frame);
        rest = &rest[16 + len..];
    }
    out
}
