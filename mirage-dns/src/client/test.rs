//! The resolver against a scripted fake server on mirage-core's in-memory
//! internet, in virtual time; the checker and the answer reader on
//! arbitrary bytes.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use futures::future::{Either, select};
use mirage_core::mem::{MemInternet, MemStack, SeededRandom, Simulation, VirtualClock};
use mirage_core::{Instant, MonotonicClock, Stack, TcpFlow, TcpListener, Time, UdpSocket};
use quickcheck::{QuickCheck, TestResult};

use super::*;
use crate::wire::rdata::Soa;
use crate::wire::{Class, Edns, Message, Name, Question, RData, Rcode, Record, Type};

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53));
/// A second address of the server's host, for answers from the wrong source.
const SERVER_ALT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 54));
const SERVER2: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 63));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fn at(ip: IpAddr) -> SocketAddr {
    SocketAddr::new(ip, 53)
}

/// How a query reached the fake server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Udp,
    Tcp,
}

/// What the fake server does with a query.
enum Act {
    /// Sends this message.
    Reply(Message),
    /// Sends these bytes.
    Bytes(Vec<u8>),
    /// Sends this message from the host's other address.
    FromElsewhere(Message),
}

/// Decides the actions for the n-th query (from 1) arriving over `Via`.
type Script = Rc<dyn Fn(&Message, Via, usize) -> Vec<Act>>;

/// Queries the fake server received, with their source and transport.
type Log = Rc<RefCell<Vec<(Message, SocketAddr, Via)>>>;

fn emit(m: &Message) -> Vec<u8> {
    let mut b = Vec::new();
    m.emit(&mut b).unwrap();
    b
}

/// The skeleton of a response to `q`: same ID, question, RD and EDNS.
fn response(q: &Message) -> Message {
    let mut r = Message::default();
    r.header.id = q.header.id;
    r.header.qr = true;
    r.header.rd = q.header.rd;
    r.header.ra = true;
    r.questions = q.questions.clone();
    r.edns = q.edns.as_ref().map(|_| Edns::default());
    r
}

fn rec(name: &str, ttl: u32, data: RData) -> Record {
    Record {
        name: name.parse().unwrap(),
        class: Class::IN,
        ttl,
        data,
    }
}

fn a(name: &str, ttl: u32, last: u8) -> Record {
    rec(name, ttl, RData::A(Ipv4Addr::new(192, 0, 2, last)))
}

fn cname(name: &str, target: &str) -> Record {
    rec(name, 300, RData::Cname(target.parse().unwrap()))
}

fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
    rec(
        zone,
        ttl,
        RData::Soa(Soa {
            mname: "ns1.example.com.".parse().unwrap(),
            rname: "hostmaster.example.com.".parse().unwrap(),
            serial: 1,
            refresh: 7200,
            retry: 3600,
            expire: 1_209_600,
            minimum,
        }),
    )
}

/// A response to `q` carrying `answers`.
fn answer(q: &Message, answers: Vec<Record>) -> Message {
    let mut r = response(q);
    r.header.aa = true;
    r.answers = answers;
    r
}

/// Starts a fake server at `ip` (and its other address `alt`) on UDP and TCP port 53.
fn fake_server(
    sim: &Simulation,
    net: &MemInternet,
    ip: IpAddr,
    alt: IpAddr,
    script: Script,
) -> Log {
    let log: Log = Rc::default();
    let stack = net.host([ip, alt]);
    let l = log.clone();
    sim.spawn(async move {
        let udp = stack.udp_bind(at(ip)).await.unwrap();
        let alt_udp = stack.udp_bind(at(alt)).await.unwrap();
        let tcp = stack.tcp_listen(at(ip)).await.unwrap();
        let count = Rc::new(RefCell::new(0usize));
        let udp_loop = async {
            let mut buf = vec![0u8; 65535];
            loop {
                let (n, from) = udp.recv_from(&mut buf).await.unwrap();
                let q = Message::parse(&buf[..n]).unwrap();
                l.borrow_mut().push((q.clone(), from, Via::Udp));
                let nth = {
                    let mut c = count.borrow_mut();
                    *c += 1;
                    *c
                };
                for act in script(&q, Via::Udp, nth) {
                    match act {
                        Act::Reply(m) => udp.send_to(&emit(&m), from).await.unwrap(),
                        Act::Bytes(b) => udp.send_to(&b, from).await.unwrap(),
                        Act::FromElsewhere(m) => alt_udp.send_to(&emit(&m), from).await.unwrap(),
                    }
                }
            }
        };
        let tcp_loop = async {
            loop {
                let mut flow = tcp.accept().await.unwrap();
                let mut len = [0u8; 2];
                read_exact(&mut flow, &mut len).await;
                let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
                read_exact(&mut flow, &mut body).await;
                let q = Message::parse(&body).unwrap();
                l.borrow_mut().push((q.clone(), flow.peer_addr(), Via::Tcp));
                for act in script(&q, Via::Tcp, 0) {
                    let bytes = match act {
                        Act::Reply(m) | Act::FromElsewhere(m) => emit(&m),
                        Act::Bytes(b) => b,
                    };
                    flow.write_all(&(bytes.len() as u16).to_be_bytes())
                        .await
                        .unwrap();
                    flow.write_all(&bytes).await.unwrap();
                }
                let _ = flow.close().await;
            }
        };
        let u = std::pin::pin!(udp_loop);
        let t = std::pin::pin!(tcp_loop);
        match select(u, t).await {
            Either::Left(((), _)) | Either::Right(((), _)) => {}
        }
    });
    log
}

async fn read_exact<F: TcpFlow>(flow: &mut F, mut buf: &mut [u8]) {
    while !buf.is_empty() {
        let n = flow.read(buf).await.unwrap();
        assert!(n > 0, "client closed early");
        buf = &mut buf[n..];
    }
}

type Resolver = StubResolver<MemStack, VirtualClock, SeededRandom>;

/// A simulation with a fake server scripted by `script` and a resolver asking it.
fn setup(
    script: impl Fn(&Message, Via, usize) -> Vec<Act> + 'static,
) -> (Simulation, Log, Rc<Resolver>) {
    setup_with(Options::new([at(SERVER)]), script)
}

fn setup_with(
    options: Options,
    script: impl Fn(&Message, Via, usize) -> Vec<Act> + 'static,
) -> (Simulation, Log, Rc<Resolver>) {
    let sim = Simulation::new(7);
    let net = MemInternet::new();
    let log = fake_server(&sim, &net, SERVER, SERVER_ALT, Rc::new(script));
    let resolver = StubResolver::new(net.host([CLIENT]), sim.clock(), sim.random(), options);
    (sim, log, Rc::new(resolver))
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// Runs `lookup(name, rtype)` after the server is up; returns it and the virtual time it took.
fn run_lookup(
    sim: &mut Simulation,
    r: &Rc<Resolver>,
    n: &str,
    rtype: Type,
) -> (Result<Answer, ResolveError>, Duration) {
    let clock = sim.clock();
    let r = r.clone();
    let n = name(n);
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        let start = clock.now();
        let res = r.lookup(&n, rtype).await;
        (res, clock.now() - start)
    })
    .unwrap()
}

#[test]
fn answers_a_query_with_edns_and_a_random_id() {
    let (mut sim, log, r) =
        setup(|q, _, _| vec![Act::Reply(answer(q, vec![a("www.example.com.", 300, 80)]))]);
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    let ans = res.unwrap();
    assert_eq!(ans.status, Status::Records);
    assert_eq!(ans.rcode, Rcode::NOERROR);
    assert_eq!(ans.ttl, 300);
    assert_eq!(
        ans.ips().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80))]
    );
    assert_eq!(took, Duration::ZERO);
    let log = log.borrow();
    let (q, from, via) = &log[0];
    assert_eq!((*via, from.ip()), (Via::Udp, CLIENT));
    assert!(q.header.rd && !q.header.qr);
    assert_eq!(q.edns.as_ref().unwrap().udp_payload_size, 1232);
    assert_eq!(q.questions[0].name, name("www.example.com."));
}

#[test]
fn retries_after_a_timeout_with_a_new_id_and_socket() {
    let (mut sim, log, r) = setup(|q, _, n| {
        if n == 1 {
            vec![]
        } else {
            vec![Act::Reply(answer(q, vec![a("www.example.com.", 300, 80)]))]
        }
    });
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert_eq!(res.unwrap().records.len(), 1);
    assert_eq!(took, Duration::from_secs(2));
    let log = log.borrow();
    assert_eq!(log.len(), 2);
    assert_ne!(log[0].0.header.id, log[1].0.header.id);
    assert_ne!(log[0].1.port(), log[1].1.port());
}

#[test]
fn times_out_after_every_attempt() {
    let (mut sim, log, r) = setup(|_, _, _| vec![]);
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert!(
        matches!(res, Err(ResolveError::Timeout { server, attempts: 2 }) if server == at(SERVER)),
        "{res:?}"
    );
    assert_eq!(took, Duration::from_secs(4));
    assert_eq!(log.borrow().len(), 2);
}

#[test]
fn attempts_and_timeout_are_configurable() {
    let options = Options {
        attempts: 3,
        timeout: Duration::from_millis(500),
        ..Options::new([at(SERVER)])
    };
    let (mut sim, log, r) = setup_with(options, |_, _, _| vec![]);
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert!(
        matches!(res, Err(ResolveError::Timeout { attempts: 3, .. })),
        "{res:?}"
    );
    assert_eq!(took, Duration::from_millis(1500));
    assert_eq!(log.borrow().len(), 3);
}

#[test]
fn asks_the_next_server_when_one_is_silent() {
    let sim = Simulation::new(3);
    let net = MemInternet::new();
    let silent = fake_server(&sim, &net, SERVER, SERVER_ALT, Rc::new(|_, _, _| vec![]));
    let good = fake_server(
        &sim,
        &net,
        SERVER2,
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 64)),
        Rc::new(|q, _, _| vec![Act::Reply(answer(q, vec![a("www.example.com.", 60, 1)]))]),
    );
    let r = Rc::new(StubResolver::new(
        net.host([CLIENT]),
        sim.clock(),
        sim.random(),
        Options::new([at(SERVER), at(SERVER2)]),
    ));
    let mut sim = sim;
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert_eq!(res.unwrap().ttl, 60);
    assert_eq!(took, Duration::from_secs(4));
    assert_eq!((silent.borrow().len(), good.borrow().len()), (2, 1));
}

#[test]
fn server_failure_moves_on_and_is_reported() {
    let (mut sim, log, r) = setup(|q, _, _| {
        let mut m = response(q);
        m.set_rcode(Rcode::SERVFAIL);
        vec![Act::Reply(m)]
    });
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert!(
        matches!(
            res,
            Err(ResolveError::ServerFailure {
                rcode: Rcode::SERVFAIL,
                ..
            })
        ),
        "{res:?}"
    );
    assert_eq!(took, Duration::ZERO);
    assert_eq!(log.borrow().len(), 1);
}

#[test]
fn ignores_answers_with_a_wrong_id_question_or_source() {
    let (mut sim, _, r) = setup(|q, _, _| {
        let good = answer(q, vec![a("www.example.com.", 300, 80)]);
        let mut wrong_id = answer(q, vec![a("www.example.com.", 300, 66)]);
        wrong_id.header.id ^= 1;
        let mut wrong_q = wrong_id.clone();
        wrong_q.header.id = q.header.id;
        wrong_q.questions[0].name = name("evil.example.com.");
        wrong_q.answers[0].name = name("evil.example.com.");
        let mut not_response = wrong_id.clone();
        not_response.header.id = q.header.id;
        not_response.header.qr = false;
        let elsewhere = answer(q, vec![a("www.example.com.", 300, 67)]);
        vec![
            Act::Reply(wrong_id),
            Act::Reply(wrong_q),
            Act::Reply(not_response),
            Act::Bytes(vec![1, 2, 3]),
            Act::FromElsewhere(elsewhere),
            Act::Reply(good),
        ]
    });
    let (res, took) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert_eq!(
        res.unwrap().ips().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80))]
    );
    assert_eq!(took, Duration::ZERO);
}

#[test]
fn accepts_the_question_echoed_in_another_case() {
    let (mut sim, _, r) = setup(|q, _, _| {
        let mut m = answer(q, vec![a("WWW.EXAMPLE.COM.", 300, 80)]);
        m.questions[0].name = name("WwW.eXaMpLe.CoM.");
        vec![Act::Reply(m)]
    });
    let (res, _) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert_eq!(res.unwrap().records.len(), 1);
}

/// Only mismatched answers: the error says why the last one was refused.
fn only(bad: impl Fn(&Message) -> Act + 'static) -> Result<Answer, ResolveError> {
    let (mut sim, _, r) = setup(move |q, _, _| vec![bad(q)]);
    run_lookup(&mut sim, &r, "www.example.com.", Type::A).0
}

#[test]
fn reports_only_mismatched_answers() {
    let res = only(|q| {
        let mut m = answer(q, vec![]);
        m.header.id = m.header.id.wrapping_add(1);
        Act::Reply(m)
    });
    assert!(
        matches!(
            res,
            Err(ResolveError::Mismatched {
                reason: Mismatch::Id,
                ..
            })
        ),
        "{res:?}"
    );
    let res = only(|q| {
        let mut m = answer(q, vec![]);
        m.questions[0].qtype = Type::AAAA;
        Act::Reply(m)
    });
    assert!(
        matches!(
            res,
            Err(ResolveError::Mismatched {
                reason: Mismatch::Question,
                ..
            })
        ),
        "{res:?}"
    );
    let res = only(|q| Act::FromElsewhere(answer(q, vec![])));
    assert!(
        matches!(
            res,
            Err(ResolveError::Mismatched {
                reason: Mismatch::Source,
                ..
            })
        ),
        "{res:?}"
    );
    let res = only(|q| {
        let mut b = emit(&answer(q, vec![a("www.example.com.", 1, 1)]));
        b.truncate(b.len() - 2);
        Act::Bytes(b)
    });
    assert!(
        matches!(res, Err(ResolveError::Malformed { .. })),
        "{res:?}"
    );
}

#[test]
fn truncated_answers_are_asked_again_over_tcp() {
    let (mut sim, log, r) = setup(|q, via, _| {
        let many: Vec<Record> = (0..100).map(|i| a("big.example.com.", 300, i)).collect();
        match via {
            Via::Udp => {
                let mut m = response(q);
                m.header.tc = true;
                vec![Act::Reply(m)]
            }
            Via::Tcp => vec![Act::Reply(answer(q, many))],
        }
    });
    let (res, _) = run_lookup(&mut sim, &r, "big.example.com.", Type::A);
    assert_eq!(res.unwrap().records.len(), 100);
    let log = log.borrow();
    assert_eq!(
        log.iter().map(|l| l.2).collect::<Vec<_>>(),
        [Via::Udp, Via::Tcp]
    );
    assert_ne!(log[0].0.header.id, log[1].0.header.id);
}

#[test]
fn a_wrong_tcp_answer_is_refused() {
    let (mut sim, _, r) = setup(|q, via, _| {
        let mut m = response(q);
        m.header.tc = via == Via::Udp;
        if via == Via::Tcp {
            m.header.id = m.header.id.wrapping_add(1);
        }
        vec![Act::Reply(m)]
    });
    let (res, _) = run_lookup(&mut sim, &r, "big.example.com.", Type::A);
    assert!(
        matches!(
            res,
            Err(ResolveError::Mismatched {
                reason: Mismatch::Id,
                ..
            })
        ),
        "{res:?}"
    );
}

#[test]
fn a_server_without_edns_is_asked_plainly() {
    let (mut sim, log, r) = setup(|q, _, _| {
        if q.edns.is_some() {
            let mut m = response(q);
            m.edns = None;
            m.set_rcode(Rcode::FORMERR);
            m.questions.clear();
            vec![Act::Reply(m)]
        } else {
            vec![Act::Reply(answer(q, vec![a("www.example.com.", 300, 80)]))]
        }
    });
    let (res, _) = run_lookup(&mut sim, &r, "www.example.com.", Type::A);
    assert_eq!(res.unwrap().records.len(), 1);
    let log = log.borrow();
    assert_eq!(
        log.iter().map(|l| l.0.edns.is_some()).collect::<Vec<_>>(),
        [true, false]
    );
}

#[test]
fn nxdomain_and_nodata_with_negative_ttls() {
    let (mut sim, _, r) = setup(|q, _, _| {
        let mut m = response(q);
        if q.questions[0].name == name("nope.example.com.") {
            m.set_rcode(Rcode::NXDOMAIN);
        }
        m.authority.push(soa("example.com.", 3600, 300));
        vec![Act::Reply(m)]
    });
    let (res, _) = run_lookup(&mut sim, &r, "nope.example.com.", Type::A);
    let ans = res.unwrap();
    assert_eq!(
        (ans.status, ans.rcode, ans.ttl),
        (Status::NxDomain, Rcode::NXDOMAIN, 300)
    );
    assert!(ans.records.is_empty() && ans.soa.is_some());
    let (res, _) = run_lookup(&mut sim, &r, "www.example.com.", Type::MX);
    let ans = res.unwrap();
    assert_eq!(
        (ans.status, ans.rcode, ans.ttl),
        (Status::NoData, Rcode::NOERROR, 300)
    );
}

#[test]
fn the_soa_ttl_caps_the_negative_ttl() {
    let (mut sim, _, r) = setup(|q, _, _| {
        let mut m = response(q);
        m.set_rcode(Rcode::NXDOMAIN);
        m.authority.push(soa("example.com.", 30, 300));
        vec![Act::Reply(m)]
    });
    let ans = run_lookup(&mut sim, &r, "nope.example.com.", Type::A)
        .0
        .unwrap();
    assert_eq!(ans.ttl, 30);
}

#[test]
fn follows_a_cname_chain_in_the_answer() {
    let (mut sim, _, r) = setup(|q, _, _| {
        vec![Act::Reply(answer(
            q,
            vec![
                cname("alias.example.com.", "Mid.example.com."),
                cname("mid.example.com.", "www.example.org."),
                a("www.example.org.", 120, 9),
                a("unrelated.example.org.", 5, 10),
            ],
        ))]
    });
    let ans = run_lookup(&mut sim, &r, "alias.example.com.", Type::A)
        .0
        .unwrap();
    assert_eq!(ans.canonical, name("www.example.org."));
    assert_eq!(ans.chain.len(), 2);
    assert_eq!(
        ans.ips().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))]
    );
    assert_eq!(ans.ttl, 120);
}

#[test]
fn a_cname_question_is_not_followed() {
    let (mut sim, _, r) = setup(|q, _, _| {
        vec![Act::Reply(answer(
            q,
            vec![
                cname("alias.example.com.", "www.example.com."),
                a("www.example.com.", 1, 1),
            ],
        ))]
    });
    let ans = run_lookup(&mut sim, &r, "alias.example.com.", Type::CNAME)
        .0
        .unwrap();
    assert_eq!(ans.records.len(), 1);
    assert!(ans.chain.is_empty());
    assert_eq!(ans.canonical, name("alias.example.com."));
}

#[test]
fn a_chain_ending_without_data_is_nodata_or_nxdomain() {
    let (mut sim, _, r) = setup(|q, _, _| {
        let mut m = answer(q, vec![cname("alias.example.com.", "gone.example.org.")]);
        m.set_rcode(Rcode::NXDOMAIN);
        m.authority.push(soa("example.org.", 600, 60));
        vec![Act::Reply(m)]
    });
    let ans = run_lookup(&mut sim, &r, "alias.example.com.", Type::A)
        .0
        .unwrap();
    assert_eq!((ans.status, ans.ttl), (Status::NxDomain, 60));
    assert_eq!(ans.canonical, name("gone.example.org."));
}

#[test]
fn a_chain_leaving_the_answer_is_asked_for_again() {
    let (mut sim, log, r) = setup(|q, _, _| {
        let asked = q.questions[0].name.to_string().to_ascii_lowercase();
        let records = match asked.as_str() {
            "ext.example.com." => vec![cname("ext.example.com.", "www.example.net.")],
            "www.example.net." => vec![
                cname("www.example.net.", "web.example.net."),
                a("web.example.net.", 30, 8),
            ],
            "loopa.example.com." => vec![cname("loopa.example.com.", "loopb.example.net.")],
            "loopb.example.net." => vec![cname("loopb.example.net.", "LOOPA.example.com.")],
            "stuck.example.com." => vec![cname("stuck.example.com.", "empty.example.net.")],
            _ => vec![],
        };
        vec![Act::Reply(answer(q, records))]
    });
    let ans = run_lookup(&mut sim, &r, "ext.example.com.", Type::A)
        .0
        .unwrap();
    assert_eq!(ans.name, name("ext.example.com."));
    assert_eq!(ans.canonical, name("web.example.net."));
    assert_eq!(ans.chain.len(), 2);
    assert_eq!((ans.status, ans.ttl), (Status::Records, 30));
    assert_eq!(
        ans.ips().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8))]
    );
    let res = run_lookup(&mut sim, &r, "loopa.example.com.", Type::A).0;
    assert!(
        matches!(&res, Err(ResolveError::CnameLoop { name: n }) if *n == name("loopa.example.com.")),
        "{res:?}"
    );
    // The chain's end has nothing and says nothing more: NODATA, asked once.
    let before = log.borrow().len();
    let ans = run_lookup(&mut sim, &r, "stuck.example.com.", Type::A)
        .0
        .unwrap();
    assert_eq!(
        (ans.status, ans.canonical.clone()),
        (Status::NoData, name("empty.example.net."))
    );
    assert_eq!(log.borrow().len() - before, 2);
}

#[test]
fn cname_loops_and_long_chains_are_errors() {
    let (mut sim, _, r) = setup(|q, _, _| {
        let asked = q.questions[0].name.to_string();
        let records = if asked.starts_with("loop") {
            vec![
                cname("loop1.example.com.", "loop2.example.com."),
                cname("loop2.example.com.", "loop3.example.com."),
                cname("loop3.example.com.", "LOOP2.example.com."),
            ]
        } else {
            (0..20)
                .map(|i| {
                    cname(
                        &format!("c{i}.example.com."),
                        &format!("c{}.example.com.", i + 1),
                    )
                })
                .collect()
        };
        vec![Act::Reply(answer(q, records))]
    });
    let res = run_lookup(&mut sim, &r, "loop1.example.com.", Type::A).0;
    assert!(
        matches!(&res, Err(ResolveError::CnameLoop { name: n }) if *n == name("loop2.example.com.")),
        "{res:?}"
    );
    let res = run_lookup(&mut sim, &r, "c0.example.com.", Type::A).0;
    assert!(
        matches!(res, Err(ResolveError::ChainTooLong { limit: 8 })),
        "{res:?}"
    );
    // Self-loop.
    let q = Question {
        name: name("s.example.com."),
        qtype: Type::A,
        qclass: Class::IN,
    };
    let mut m = Message::default();
    m.answers.push(cname("s.example.com.", "S.example.com."));
    assert!(matches!(
        Answer::from_message(&q, &m, 8),
        Err(ResolveError::CnameLoop { .. })
    ));
}

#[test]
fn answers_are_cached_for_their_ttl_in_virtual_time() {
    let (mut sim, log, r) = setup(|q, _, _| {
        let mut m = answer(q, vec![a("www.example.com.", 60, 80)]);
        if q.questions[0].qtype == Type::MX {
            m.answers.clear();
            m.set_rcode(Rcode::NXDOMAIN);
            m.authority.push(soa("example.com.", 3600, 30));
        }
        vec![Act::Reply(m)]
    });
    let clock = sim.clock();
    let rr = r.clone();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        let www = name("WWW.example.com.");
        let first = rr.lookup(&name("www.example.com."), Type::A).await.unwrap();
        assert_eq!(first.ttl, 60);
        clock.sleep(Duration::from_secs(20)).await;
        let hit = rr.lookup(&www, Type::A).await.unwrap();
        assert_eq!((hit.ttl, hit.records[0].ttl), (40, 40));
        assert_eq!(hit.name, www);
        rr.lookup(&www, Type::MX).await.unwrap();
        clock.sleep(Duration::from_secs(29)).await;
        assert_eq!(rr.lookup(&www, Type::MX).await.unwrap().ttl, 1);
        clock.sleep(Duration::from_secs(1)).await;
        assert_eq!(rr.lookup(&www, Type::MX).await.unwrap().ttl, 30);
        clock.sleep(Duration::from_secs(10)).await;
        assert_eq!(rr.lookup(&www, Type::A).await.unwrap().ttl, 60);
    })
    .unwrap();
    let types: Vec<Type> = log
        .borrow()
        .iter()
        .map(|l| l.0.questions[0].qtype)
        .collect();
    assert_eq!(types, [Type::A, Type::MX, Type::MX, Type::A]);
    assert_eq!(r.cache_len(), 2);
    r.clear_cache();
    assert_eq!(r.cache_len(), 0);
}

#[test]
fn the_cache_is_bounded_and_evicts_the_soonest_to_expire() {
    let q = |n: &str| Question {
        name: name(n),
        qtype: Type::A,
        qclass: Class::IN,
    };
    let ans = |n: &str, ttl| {
        let mut m = Message::default();
        m.answers.push(a(n, ttl, 1));
        Answer::from_message(&q(n), &m, 8).unwrap()
    };
    let mut cache = Cache::new(2, 100, 10);
    let t0 = Instant::ZERO;
    cache.insert(&ans("a.test.", 50), t0);
    cache.insert(&ans("b.test.", 20), t0);
    cache.insert(&ans("c.test.", 1000), t0);
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&name("b.test."), Type::A, t0).is_none());
    let c = cache.get(&name("c.test."), Type::A, t0).unwrap();
    assert_eq!((c.ttl, c.records[0].ttl), (100, 100), "capped by max_ttl");
    assert!(cache.get(&name("a.test."), Type::A, t0).is_some());
    // Expired entries leave first.
    let later = t0 + Duration::from_secs(60);
    cache.insert(&ans("d.test.", 5), later);
    assert!(cache.get(&name("a.test."), Type::A, later).is_none());
    assert!(cache.get(&name("c.test."), Type::A, later).is_some());
    assert!(cache.get(&name("d.test."), Type::A, later).is_some());
    // Zero TTLs and a zero capacity keep nothing.
    cache.insert(&ans("e.test.", 0), later);
    assert!(cache.get(&name("e.test."), Type::A, later).is_none());
    let mut off = Cache::new(0, 100, 10);
    off.insert(&ans("a.test.", 50), t0);
    assert!(off.is_empty());
}

#[test]
fn lookup_ip_asks_a_and_aaaa_and_passes_literals_through() {
    let (mut sim, log, r) = setup(|q, _, _| {
        let qn = q.questions[0].name.clone();
        let mut m = response(q);
        if qn == name("nope.example.com.") {
            m.set_rcode(Rcode::NXDOMAIN);
        } else if qn == name("nothing.example.com.")
            || (qn == name("v4only.example.com.") && q.questions[0].qtype == Type::AAAA)
        {
            // NODATA: no records.
        } else if q.questions[0].qtype == Type::A {
            m.answers.push(rec(
                &qn.to_string(),
                60,
                RData::A(Ipv4Addr::new(192, 0, 2, 1)),
            ));
        } else {
            m.answers.push(rec(
                &qn.to_string(),
                60,
                RData::Aaaa("2001:db8::1".parse().unwrap()),
            ));
        }
        vec![Act::Reply(m)]
    });
    let clock = sim.clock();
    let rr = r.clone();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        assert_eq!(
            rr.lookup_ip("192.0.2.7").await.unwrap(),
            [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))]
        );
        assert_eq!(
            rr.lookup_ip("[2001:db8::7]").await.unwrap(),
            ["2001:db8::7".parse::<Ipv6Addr>().unwrap()]
        );
        assert_eq!(
            rr.lookup_ip("2001:db8::8").await.unwrap(),
            ["2001:db8::8".parse::<Ipv6Addr>().unwrap()]
        );
        let both = rr.lookup_ip("git.example.org").await.unwrap();
        assert_eq!(
            both,
            [
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                "2001:db8::1".parse::<IpAddr>().unwrap()
            ]
        );
        assert_eq!(
            rr.lookup_ip("v4only.example.com").await.unwrap(),
            [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))]
        );
        let e = rr.lookup_ip("nope.example.com").await.unwrap_err();
        assert!(matches!(e, ResolveError::NxDomain { .. }), "{e:?}");
        let e = rr.lookup_ip("nothing.example.com").await.unwrap_err();
        assert!(matches!(e, ResolveError::NoData { .. }), "{e:?}");
        let long = format!("{}.example.com", vec!["a".repeat(60); 5].join("."));
        let e = rr.lookup_ip(&long).await.unwrap_err();
        assert!(
            matches!(
                e,
                ResolveError::InvalidName(crate::wire::NameError::NameTooLong)
            ),
            "{e:?}"
        );
        let e = rr.lookup_ip("a..b").await.unwrap_err();
        assert!(matches!(e, ResolveError::InvalidName(_)), "{e:?}");
    })
    .unwrap();
    assert_eq!(log.borrow().len(), 8, "literals and bad names ask nothing");
}

#[test]
fn no_servers_is_an_error() {
    let sim = Simulation::new(1);
    let net = MemInternet::new();
    let r = StubResolver::new(
        net.host([CLIENT]),
        sim.clock(),
        sim.random(),
        Options::default(),
    );
    let mut sim = sim;
    let res = sim
        .block_on(async move { r.lookup(&name("x."), Type::A).await })
        .unwrap();
    assert!(matches!(res, Err(ResolveError::NoServers)));
}

/// Resolves through the mirage-core signature only, as a protocol would.
async fn via_signature(
    r: &impl mirage_core::Resolver,
    host: &str,
) -> Result<Vec<IpAddr>, mirage_core::ResolveError> {
    r.resolve(host).await
}

#[test]
fn the_signature_maps_answers_and_errors() {
    let (mut sim, log, r) = setup(|q, _, _| {
        let qn = q.questions[0].name.clone();
        let mut m = response(q);
        if qn == name("nope.example.com.") {
            m.set_rcode(Rcode::NXDOMAIN);
        } else if qn == name("broken.example.com.") {
            m.set_rcode(Rcode::SERVFAIL);
        } else if q.questions[0].qtype == Type::A && qn == name("git.example.org.") {
            m.answers.push(a("git.example.org.", 60, 9));
        }
        vec![Act::Reply(m)]
    });
    let clock = sim.clock();
    let rr = r.clone();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(1)).await;
        assert_eq!(
            via_signature(&rr, "git.example.org").await.unwrap(),
            [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))]
        );
        assert_eq!(
            via_signature(&rr, "[::1]").await.unwrap(),
            [IpAddr::V6(Ipv6Addr::LOCALHOST)]
        );
        let e = via_signature(&rr, "nope.example.com").await.unwrap_err();
        assert!(matches!(e, mirage_core::ResolveError::NotFound), "{e:?}");
        let e = via_signature(&rr, "nothing.example.com").await.unwrap_err();
        assert!(matches!(e, mirage_core::ResolveError::NoAddress), "{e:?}");
        // DNS escapes and spaces are not host names: refused before a question.
        for bad in ["a\\.b.example.com", "a b.example.com", "", "a..b"] {
            let e = via_signature(&rr, bad).await.unwrap_err();
            assert!(
                matches!(e, mirage_core::ResolveError::InvalidName),
                "{bad}: {e:?}"
            );
        }
        let e = via_signature(&rr, "broken.example.com").await.unwrap_err();
        let mirage_core::ResolveError::Other(source) = e else {
            panic!("SERVFAIL should keep its detail: {e:?}");
        };
        let ours = source.downcast_ref::<ResolveError>().unwrap();
        assert!(
            matches!(ours, ResolveError::ServerFailure { rcode, .. } if *rcode == Rcode::SERVFAIL),
            "{ours:?}"
        );
    })
    .unwrap();
    assert_eq!(
        log.borrow().len(),
        8,
        "A and AAAA for four names; literals and bad names ask nothing"
    );

    let (mut sim, _, r) = setup(|_, _, _| vec![]);
    let e = sim
        .block_on(async move { via_signature(&r, "git.example.org").await })
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, mirage_core::ResolveError::Unavailable), "{e:?}");
}

fn sent() -> Sent {
    Sent {
        server: at(SERVER),
        id: 0x1234,
        question: Question {
            name: name("www.example.com."),
            qtype: Type::A,
            qclass: Class::IN,
        },
    }
}

#[test]
fn checker_on_captured_cases() {
    let s = sent();
    let mut q = Message::default();
    q.header.id = s.id;
    q.questions.push(s.question.clone());
    let good = emit(&answer(&q, vec![a("www.example.com.", 1, 1)]));
    assert!(check_response(&s, at(SERVER), &good).is_ok());
    assert_eq!(
        check_response(&s, at(SERVER2), &good),
        Err(Rejected::Mismatch(Mismatch::Source))
    );
    assert_eq!(
        check_response(&s, SocketAddr::new(SERVER, 5353), &good),
        Err(Rejected::Mismatch(Mismatch::Source))
    );
    assert_eq!(
        check_response(&s, at(SERVER), &good[..11]),
        Err(Rejected::Mismatch(Mismatch::Short))
    );
    assert_eq!(
        check_response(&s, at(SERVER), &emit(&q)),
        Err(Rejected::Mismatch(Mismatch::NotResponse))
    );
    let mut two = answer(&q, vec![]);
    two.questions.push(s.question.clone());
    assert_eq!(
        check_response(&s, at(SERVER), &emit(&two)),
        Err(Rejected::Mismatch(Mismatch::Question))
    );
    let mut none = answer(&q, vec![]);
    none.questions.clear();
    assert_eq!(
        check_response(&s, at(SERVER), &emit(&none)),
        Err(Rejected::Mismatch(Mismatch::Question))
    );
    none.set_rcode(Rcode::REFUSED);
    assert!(check_response(&s, at(SERVER), &emit(&none)).is_ok());
}

#[test]
fn quickcheck_arbitrary_bytes_never_panic_the_checker() {
    fn prop(body: Vec<u8>, flags: u16, force_header: bool) -> TestResult {
        let s = sent();
        let mut bytes = body;
        if force_header {
            // Make the cheap checks pass so the parser and reader see the bytes.
            bytes.splice(
                0..bytes.len().min(4),
                [0x12, 0x34, ((flags >> 8) as u8 | 0x80) & 0x87, flags as u8],
            );
        }
        if let Ok(m) = check_response(&s, at(SERVER), &bytes) {
            let _ = Answer::from_message(&s.question, &m, 8);
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Vec<u8>, u16, bool) -> TestResult);
}

/// A well-formed answer to [`sent`] with a chain and an SOA, to mutate.
fn sample_answer() -> Vec<u8> {
    let s = sent();
    let mut q = Message::default();
    q.header.id = s.id;
    q.questions.push(s.question.clone());
    let mut m = answer(
        &q,
        vec![
            cname("www.example.com.", "x.example.com."),
            a("x.example.com.", 5, 5),
        ],
    );
    m.authority.push(soa("example.com.", 60, 30));
    emit(&m)
}

#[test]
fn quickcheck_mutated_answers_never_panic() {
    fn prop(edits: Vec<(u16, u8)>, cut: u16) -> TestResult {
        let s = sent();
        let mut b = sample_answer();
        for (i, v) in edits {
            let i = i as usize % b.len();
            // Keep the ID so the mutations reach the parser.
            if i >= 2 {
                b[i] = v;
            }
        }
        b.truncate(b.len() - (cut as usize % 8));
        if let Ok(m) = check_response(&s, at(SERVER), &b) {
            let _ = Answer::from_message(&s.question, &m, 8);
        }
        TestResult::passed()
    }
    assert!(check_response(&sent(), at(SERVER), &sample_answer()).is_ok());
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Vec<(u16, u8)>, u16) -> TestResult);
}
