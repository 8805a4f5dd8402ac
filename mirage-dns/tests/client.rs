//! The stub resolver on host sockets (mirage-unix's `SocketStack`) on
//! 127.0.0.1, asking mirage-dns's own authoritative server and, when they
//! are installed, NSD and Knot (Debian packages `nsd` and `knot`) serving
//! the same zones. Each peer test prints `SKIP: …` when its server is absent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use mirage_core::Time;
use mirage_dns::client::{Options, ResolveError, Status, StubResolver};
use mirage_dns::server::{ServeOptions, ZoneSet, Zones, serve};
use mirage_dns::wire::{Name, RData, Rcode, Type};
use mirage_dns::zone::{Zone, parse_str};
use mirage_testkit::peers::{TEST_ZONES, knot_conf, knot_zones, nsd_conf};
use mirage_testkit::ports::free_port;
use mirage_testkit::process::ChildGuard;
use mirage_testkit::runtime::block_on;
use mirage_testkit::tmp::TempDir;
use mirage_testkit::tools::have;
use mirage_unix::{OsRandom, SocketStack, SystemClock};

/// `big` TXT is about 2 KB: over the 1232-byte EDNS size, so it comes over TCP.
fn example_com() -> String {
    let mut text = String::from(
        "$ORIGIN example.com.
$TTL 3600
@      SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
@      NS    ns1
ns1    A     192.0.2.1
www    A     192.0.2.80
www    AAAA  2001:db8::80
alias  CNAME www
alias2 CNAME alias
toorg  CNAME git.example.org.
v4     A     192.0.2.4
",
    );
    for i in 0..20 {
        text.push_str(&format!("big TXT \"{i:02}{}\"\n", "x".repeat(98)));
    }
    text
}

const EXAMPLE_ORG: &str = "$ORIGIN example.org.
$TTL 600
@   60  SOA  ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 3600
@       NS   ns1.example.com.
git     A    192.0.2.100
";

type HostResolver = StubResolver<SocketStack, SystemClock, OsRandom>;

fn resolver(port: u16, timeout: Duration, attempts: u8) -> HostResolver {
    let options = Options {
        timeout,
        attempts,
        ..Options::new([SocketAddr::from((Ipv4Addr::LOCALHOST, port))])
    };
    StubResolver::new(
        SocketStack::new(),
        SystemClock::new(),
        OsRandom::new().unwrap(),
        options,
    )
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// The same questions of whichever server listens on `port`, named `who`.
async fn check_server(port: u16, who: &str) {
    let r = resolver(port, Duration::from_secs(1), 3);

    let www = r.lookup(&name("www.example.com."), Type::A).await.unwrap();
    assert_eq!(www.status, Status::Records, "{who}");
    assert_eq!(www.ttl, 3600, "{who}");
    assert_eq!(
        www.ips().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80))],
        "{who}"
    );

    let ips = r.lookup_ip("www.example.com").await.unwrap();
    let v6: Ipv6Addr = "2001:db8::80".parse().unwrap();
    assert_eq!(
        ips,
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), IpAddr::V6(v6)],
        "{who}"
    );
    assert_eq!(
        r.lookup_ip("git.example.org.").await.unwrap(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
        "{who}"
    );
    assert_eq!(
        r.lookup_ip("v4.example.com").await.unwrap(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4))],
        "{who}"
    );

    let mixed = r.lookup(&name("WwW.ExAmPlE.CoM."), Type::AAAA).await;
    assert_eq!(
        mixed.unwrap().ips().collect::<Vec<_>>(),
        [IpAddr::V6(v6)],
        "{who}"
    );

    let alias = r
        .lookup(&name("alias2.example.com."), Type::A)
        .await
        .unwrap();
    assert_eq!(alias.chain.len(), 2, "{who}: {alias:?}");
    assert_eq!(alias.canonical, name("www.example.com."), "{who}");
    assert_eq!(alias.records.len(), 1, "{who}");

    // A chain into the other zone: followed by the server or asked again.
    let toorg = r
        .lookup(&name("toorg.example.com."), Type::A)
        .await
        .unwrap();
    assert_eq!(toorg.chain.len(), 1, "{who}: {toorg:?}");
    assert_eq!(
        toorg.ips().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
        "{who}"
    );

    let nx = r.lookup(&name("nope.example.com."), Type::A).await.unwrap();
    assert_eq!(
        (nx.status, nx.rcode, nx.ttl),
        (Status::NxDomain, Rcode::NXDOMAIN, 300),
        "{who}"
    );
    assert!(nx.soa.is_some(), "{who}");
    let e = r.lookup_ip("nope.example.com").await.unwrap_err();
    assert!(matches!(e, ResolveError::NxDomain { .. }), "{who}: {e:?}");

    let nodata = r.lookup(&name("www.example.com."), Type::MX).await.unwrap();
    assert_eq!(
        (nodata.status, nodata.rcode, nodata.ttl),
        (Status::NoData, Rcode::NOERROR, 300),
        "{who}"
    );
    // The org zone's SOA has TTL 60 and MINIMUM 3600: the smaller counts.
    let org = r.lookup(&name("nope.example.org."), Type::A).await.unwrap();
    assert_eq!((org.status, org.ttl), (Status::NxDomain, 60), "{who}");

    // About 2 KB of TXT: truncated over UDP, complete over TCP.
    let big = r
        .lookup(&name("big.example.com."), Type::TXT)
        .await
        .unwrap();
    assert_eq!(big.records.len(), 20, "{who}");
    assert!(
        big.records
            .iter()
            .all(|rec| matches!(rec.data, RData::Txt(_))),
        "{who}"
    );

    // Cached: asked again, the same records with a TTL no higher.
    let cached = r.lookup(&name("www.example.com."), Type::A).await.unwrap();
    assert_eq!(cached.records.len(), 1, "{who}");
    assert!(cached.ttl <= 3600, "{who}");
    assert!(r.cache_len() >= 8, "{who}: {}", r.cache_len());
}

#[test]
fn resolves_from_our_server_on_host_sockets() {
    let port = free_port();
    let zone = |origin: &str, text: &str| {
        let o = name(origin);
        Zone::new(o.clone(), parse_str(text, origin, &o).unwrap()).unwrap()
    };
    let zones = Zones::new(ZoneSet::new([
        zone("example.com.", &example_com()),
        zone("example.org.", EXAMPLE_ORG),
    ]));
    block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let server = tokio::task::spawn_local(async move {
            serve(
                &SocketStack::exclusive(),
                &SystemClock::new(),
                addr,
                zones,
                ServeOptions::default(),
            )
            .await
        });
        // Let the server bind before the first question.
        SystemClock::new().sleep(Duration::from_millis(50)).await;
        assert!(!server.is_finished(), "the server did not start");
        check_server(port, "mirage-dns").await;
        server.abort();
    });
}

#[test]
fn a_silent_port_times_out() {
    // Bound and never read: datagrams are queued and never answered.
    let silent = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = silent.local_addr().unwrap().port();
    block_on(async move {
        let r = resolver(port, Duration::from_millis(200), 2);
        let e = r
            .lookup(&name("www.example.com."), Type::A)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ResolveError::Timeout { attempts: 2, .. }),
            "{e:?}"
        );
    });
    drop(silent);
}

/// A temporary directory holding the zone files, removed on drop.
fn zone_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::write(dir.path().join("example.com.zone"), example_com()).unwrap();
    std::fs::write(dir.path().join("example.org.zone"), EXAMPLE_ORG).unwrap();
    dir
}

/// A server process, killed and reaped on drop.
type Peer = ChildGuard;

fn start_nsd(dir: &Path, port: u16) -> Option<Peer> {
    let conf = nsd_conf(dir, port, "", &TEST_ZONES);
    Command::new("nsd")
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .map(ChildGuard)
}

fn start_knot(dir: &Path, port: u16) -> Option<Peer> {
    let conf = knot_conf(dir, port, "", "critical", &knot_zones(dir, &TEST_ZONES));
    Command::new("knotd")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .map(ChildGuard)
}

/// Starts `program` on the test zones and runs [`check_server`] against it.
fn against_peer(program: &str, package: &str, start: fn(&Path, u16) -> Option<Peer>) {
    if !have(program) {
        println!("SKIP: {program} is not installed (apt-get install {package})");
        return;
    }
    let dir = zone_dir(program);
    let port = free_port();
    let Some(_peer) = start(dir.path(), port) else {
        println!("SKIP: {program} did not start");
        return;
    };
    block_on(async move {
        // Wait (at most 20 s) until it answers for its zone.
        let probe = resolver(port, Duration::from_millis(200), 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while probe
            .lookup(&name("example.com."), Type::SOA)
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{program} never answered on port {port}"
            );
            SystemClock::new().sleep(Duration::from_millis(100)).await;
        }
        check_server(port, program).await;
    });
}

#[test]
fn resolves_from_nsd() {
    against_peer("nsd", "nsd", start_nsd);
}

#[test]
fn resolves_from_knot() {
    against_peer("knotd", "knot", start_knot);
}
