//! The whole appliance in a deterministic simulation: our own TCP/IP stack
//! (mirage-net) on both ends of a lossy virtual cable, an in-memory Git
//! repository, virtual time. A simulated client asks DNS and HTTP questions
//! while the branch moves; the same seed gives the same trace.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use homepage::unikernel::{Config, start};
use homepage::upstream::SharedRepository;
use mirage_core::mem::{LinkConfig, Simulation, Switch, VirtualClock};
use mirage_core::{Key, MonotonicClock, Stack as _, TcpFlow, Time, UdpSocket, timeout};
use mirage_dns::wire::{Class, Message, Question, Type};
use mirage_irmin::{Author, HashKind, Info, MemBackend, Repo};
use mirage_net::{Config as NetConfig, Stack};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

type Trace = Rc<RefCell<Vec<String>>>;

fn note(trace: &Trace, clock: &VirtualClock, what: String) {
    trace.borrow_mut().push(format!("{} {what}", clock.now()));
}

/// Asks `name A` over UDP, retrying on loss; the answers as text.
async fn ask(client: &Stack, clock: &VirtualClock, name: &str) -> Vec<String> {
    let socket = client
        .udp_bind(SocketAddr::new(CLIENT.into(), 0))
        .await
        .unwrap();
    let mut query = Message::default();
    query.header.id = 4242;
    query.questions.push(Question {
        name: name.parse().unwrap(),
        qtype: Type::A,
        qclass: Class::IN,
    });
    let mut bytes = Vec::new();
    query.emit(&mut bytes).unwrap();
    let server = SocketAddr::new(SERVER.into(), 53);
    let mut buf = [0u8; 1500];
    for _ in 0..10 {
        socket.send_to(&bytes, server).await.unwrap();
        if let Ok(Ok((n, _))) =
            timeout(clock, Duration::from_secs(1), socket.recv_from(&mut buf)).await
        {
            let answer = Message::parse(&buf[..n]).unwrap();
            return answer.answers.iter().map(|r| r.to_string()).collect();
        }
    }
    panic!("no DNS answer after 10 tries");
}

/// GETs `path` over one TCP connection; status line and body.
async fn get(client: &Stack, path: &str) -> (String, String) {
    let mut flow = client
        .tcp_connect(SocketAddr::new(SERVER.into(), 80))
        .await
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n");
    flow.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = flow.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(resp).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

fn simulate(seed: u64) -> Vec<String> {
    let mut sim = Simulation::new(seed);
    let clock = sim.clock();
    let link = LinkConfig {
        loss: 0.02,
        reorder: 0.05,
        delay: Duration::from_millis(1),
        ..LinkConfig::default()
    };
    let switch = Switch::new(clock.clone(), seed, link);
    let (server, runner) = Stack::new(
        switch.attach(),
        clock.clone(),
        sim.random(),
        NetConfig::ipv4_static(SERVER, 24, None),
    )
    .unwrap();
    sim.spawn(runner.run());
    let (client, runner) = Stack::new(
        switch.attach(),
        clock.clone(),
        sim.random(),
        NetConfig::ipv4_static(CLIENT, 24, None),
    )
    .unwrap();
    sim.spawn(runner.run());

    let repo = Repo::new(MemBackend::new(HashKind::Sha1), clock.clone());
    sim.block_on(homepage::demo::seed(&repo, "main"))
        .unwrap()
        .unwrap();
    let config = Config {
        poll: Some(Duration::from_secs(10)),
        ..config_without_poll()
    };
    let appliance = sim.spawn(start(
        server,
        clock.clone(),
        repo.clone(),
        SharedRepository,
        config,
    ));

    let trace: Trace = Rc::default();
    let t = trace.clone();
    let c = clock.clone();
    sim.block_on(async move {
        clock.sleep(Duration::from_millis(10)).await;
        note(
            &t,
            &c,
            format!("dns {:?}", ask(&client, &c, "example.org.").await),
        );
        let (status, body) = get(&client, "/").await;
        note(
            &t,
            &c,
            format!("http {status} {}", body.contains("Hello from a unikernel")),
        );
        note(&t, &c, format!("http {}", get(&client, "/about").await.0));
        note(&t, &c, format!("http {}", get(&client, "/missing").await.0));

        // The operator commits new content; the poll picks it up.
        let store = repo.branch("main").unwrap();
        let mut tx = store.transaction();
        tx.set(
            Key::parse("site/index.html").unwrap(),
            Bytes::from_static(b"new page"),
        );
        tx.set(
            Key::parse("zones/example.org.zone").unwrap(),
            Bytes::from_static(
                b"$ORIGIN example.org.\n@ 60 IN SOA ns1 hm 2 60 60 600 60\n@ 60 IN NS ns1\n\
                  ns1 60 IN A 10.0.0.1\n@ 60 IN A 10.0.0.99\n",
            ),
        );
        tx.commit(Info::new(Author::new("op", "op@example.org"), "update"))
            .await
            .unwrap();
        note(
            &t,
            &c,
            format!("before poll: {:?}", ask(&client, &c, "example.org.").await),
        );
        c.sleep(Duration::from_secs(11)).await;
        note(
            &t,
            &c,
            format!("after poll: {:?}", ask(&client, &c, "example.org.").await),
        );
        note(&t, &c, format!("after poll: {:?}", get(&client, "/").await));
    })
    .unwrap();
    assert!(!appliance.is_finished(), "the appliance keeps serving");
    trace.take()
}

#[test]
fn the_appliance_serves_and_updates_in_a_lossy_simulation_deterministically() {
    let one = simulate(11);
    for line in &one {
        println!("{line}");
    }
    assert!(
        one[0].ends_with("dns [\"example.org. 3600 IN A 127.0.0.1\"]"),
        "{}",
        one[0]
    );
    assert!(one[1].ends_with("http HTTP/1.1 200 OK true"), "{}", one[1]);
    assert!(
        one[2].ends_with("http HTTP/1.1 301 Moved Permanently"),
        "{}",
        one[2]
    );
    assert!(
        one[3].ends_with("http HTTP/1.1 404 Not Found"),
        "{}",
        one[3]
    );
    assert!(
        one[4].contains("before poll: [\"example.org. 3600 IN A 127.0.0.1\"]"),
        "{}",
        one[4]
    );
    assert!(
        one[5].contains("after poll: [\"example.org. 60 IN A 10.0.0.99\"]"),
        "{}",
        one[5]
    );
    assert!(one[6].contains("new page"), "{}", one[6]);
    assert_eq!(one, simulate(11), "the same seed gives the same trace");
}

/// An upstream whose first pulls fail (a remote not reachable yet), then
/// brings the demo content.
struct LateUpstream {
    repo: Repo<MemBackend, VirtualClock>,
    failures_left: std::cell::Cell<u32>,
}

impl homepage::upstream::Upstream for LateUpstream {
    async fn pull(&self) -> Result<String, homepage::upstream::PullError> {
        if self.failures_left.get() > 0 {
            self.failures_left.set(self.failures_left.get() - 1);
            return Err(homepage::upstream::PullError::Fetch {
                remote: "git://10.9.0.1/site.git".into(),
                source: "connection refused".into(),
            });
        }
        homepage::demo::seed(&self.repo, "main").await?;
        Ok("seeded".into())
    }
}

/// The appliance on SERVER's ports 80 and 53, serving `main`, not polling.
fn config_without_poll() -> Config {
    Config {
        branch: "main".into(),
        http: SocketAddr::new(SERVER.into(), 80),
        dns: SocketAddr::new(SERVER.into(), 53),
        poll: None,
        hook_secret: None,
        http_config: Default::default(),
        dns_options: Default::default(),
        site_options: Default::default(),
    }
}

#[test]
fn an_empty_branch_waits_for_a_late_remote() {
    use homepage::unikernel::Appliance;
    let mut sim = Simulation::new(7);
    let clock = sim.clock();
    let repo = Repo::new(MemBackend::new(HashKind::Sha1), clock.clone());
    let upstream = LateUpstream {
        repo: repo.clone(),
        failures_left: std::cell::Cell::new(3),
    };
    let start = clock.now();
    let appliance = sim
        .block_on(Appliance::new(
            repo.clone(),
            upstream,
            &config_without_poll(),
        ))
        .unwrap()
        .expect("the content arrives on the fourth pull");
    let head = sim
        .block_on(async { repo.branch("main").unwrap().head().await })
        .unwrap()
        .unwrap();
    assert_eq!(Some(appliance.serving()), head);
    // Pauses of 1, 2 and 4 s before the second, third and fourth pulls.
    assert_eq!((clock.now() - start).as_secs(), 7);
}

#[test]
fn an_empty_branch_with_an_unreachable_remote_gives_up() {
    use homepage::unikernel::{Appliance, Error, INITIAL_PULL_ATTEMPTS};
    let mut sim = Simulation::new(8);
    let clock = sim.clock();
    let repo = Repo::new(MemBackend::new(HashKind::Sha1), clock.clone());
    let upstream = LateUpstream {
        repo: repo.clone(),
        failures_left: std::cell::Cell::new(u32::MAX),
    };
    let start = clock.now();
    let result = sim
        .block_on(Appliance::new(repo, upstream, &config_without_poll()))
        .unwrap();
    assert!(matches!(result, Err(Error::EmptyBranch(b)) if b == "main"));
    assert_eq!(INITIAL_PULL_ATTEMPTS, 8);
    // 1 + 2 + 4 + 8 + 16 + 30 + 30 s of pauses between eight pulls.
    assert_eq!((clock.now() - start).as_secs(), 91);
}
