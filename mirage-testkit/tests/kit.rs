//! The helpers on this host: tool checks, guards that clean up, ports, and
//! a git daemon serving a remote (skipped without `git`).

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use mirage_testkit::git::{DaemonOptions, Git, GitDaemon, Remote};
use mirage_testkit::process::{self, ChildGuard};
use mirage_testkit::tmp::TempDir;
use mirage_testkit::{ports, tools};

#[test]
fn tools_are_found_on_the_path_and_missing_ones_named() {
    assert!(tools::have("sh"));
    assert!(tools::have("/bin/sh"));
    assert!(!tools::have("no-such-program-mirage-testkit"));
    assert_eq!(tools::missing(&["sh"]), None);
    assert_eq!(
        tools::missing(&["sh", "no-such-program-mirage-testkit"]).as_deref(),
        Some("`no-such-program-mirage-testkit` is not installed")
    );
}

#[test]
fn run_returns_output_and_panics_on_failure() {
    assert_eq!(
        process::run(Command::new("sh").args(["-c", "echo hi"])),
        "hi\n"
    );
    let failed = std::panic::catch_unwind(|| {
        process::run(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]))
    });
    let message = failed.expect_err("a failing command panics");
    let message = message
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(message.contains("oops"), "{message}");
}

#[test]
fn a_guarded_child_is_killed_and_reaped() {
    let guard = ChildGuard::spawn(Command::new("sleep").arg("60").stdout(Stdio::null()));
    let pid = guard.0.id();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(guard);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "reaped, not a zombie"
    );
}

#[test]
fn a_temporary_directory_goes_on_drop() {
    let dir = TempDir::new("tmp");
    std::fs::write(dir.path().join("f"), "x").unwrap();
    let path = dir.path().to_owned();
    drop(dir);
    assert!(!path.exists());
}

#[test]
fn free_ports_can_be_bound_and_waited_for() {
    let port = ports::free_port();
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    assert!(ports::wait_for_tcp(
        (Ipv4Addr::LOCALHOST, port),
        Duration::from_secs(1)
    ));
    drop(tcp);
    let closed = ports::free_tcp_port(Ipv4Addr::LOCALHOST);
    assert!(!ports::wait_for_tcp(
        (Ipv4Addr::LOCALHOST, closed),
        Duration::from_millis(100)
    ));
}

#[test]
fn a_git_daemon_serves_a_remote_and_stops_on_drop() {
    if !mirage_testkit::git::available("a_git_daemon_serves_a_remote_and_stops_on_drop") {
        return;
    }
    let dir = TempDir::new("git");
    let remote = Remote::create(dir.path(), Git::TEST);
    std::fs::write(remote.work.join("a.txt"), "one\n").unwrap();
    let head = remote.commit_and_push("one");
    let author = Git::TEST.run(&remote.bare, &["log", "-1", "--format=%an <%ae>", "main"]);
    assert_eq!(author.trim(), "Test <test@example.org>");
    let daemon = GitDaemon::start_with(
        dir.path(),
        DaemonOptions {
            receive_pack: true,
            ..DaemonOptions::default()
        },
    );
    let url = daemon.url("site.git");
    let listed = Git::TEST.run(dir.path(), &["ls-remote", &url, "refs/heads/main"]);
    assert!(listed.starts_with(&head), "{listed}");
    let port = daemon.port;
    drop(daemon);
    assert!(!ports::wait_for_tcp(
        (Ipv4Addr::LOCALHOST, port),
        Duration::from_millis(100)
    ));
}

#[test]
fn a_signalled_child_is_waited_for_and_one_ignoring_it_reported() {
    let mut sleeper = ChildGuard::spawn(Command::new("sleep").arg("60"));
    let status = sleeper
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(10))
        .expect("sleep ends on SIGTERM");
    assert!(!status.success());
    let mut stubborn = ChildGuard::spawn(Command::new("sh").args(["-c", "trap '' TERM; sleep 60"]));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        stubborn.signal_and_wait(libc::SIGTERM, Duration::from_millis(300)),
        None
    );
}

#[test]
fn peer_configurations_name_their_port_directory_and_zones() {
    use mirage_testkit::peers::{TEST_ZONES, knot_conf, knot_zones, nsd_conf};
    let dir = mirage_testkit::tmp::TempDir::new("peers");
    let nsd = std::fs::read_to_string(nsd_conf(
        dir.path(),
        5300,
        "  minimal-responses: yes\n",
        &TEST_ZONES,
    ))
    .unwrap();
    assert!(nsd.contains("ip-address: 127.0.0.1@5300\n"), "{nsd}");
    assert!(
        nsd.contains("rrl-ratelimit: 0\n  minimal-responses: yes\n  zonesdir:"),
        "{nsd}"
    );
    assert!(nsd.ends_with("zone:\n  name: example.com\n  zonefile: example.com.zone\nzone:\n  name: example.org\n  zonefile: example.org.zone\n"), "{nsd}");
    let zones = knot_zones(dir.path(), &TEST_ZONES);
    let d = dir.path().display();
    assert_eq!(
        zones,
        format!(
            "zone:\n  - domain: example.com\n    file: \"{d}/example.com.zone\"\n    journal-content: none\n    zonefile-sync: -1\n  - domain: example.org\n    file: \"{d}/example.org.zone\"\n    journal-content: none\n    zonefile-sync: -1\n"
        )
    );
    let knot =
        std::fs::read_to_string(knot_conf(dir.path(), 5301, "", "critical", &zones)).unwrap();
    assert!(
        knot.starts_with("server:\n  listen: 127.0.0.1@5301\n"),
        "{knot}"
    );
    assert!(knot.contains("    any: critical\nzone:\n"), "{knot}");
}
