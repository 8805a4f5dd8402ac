//! The appliance as a user runs it: the real binary on loopback ports,
//! serving a bare repository that the test pushes to with `git`, checked
//! with `curl` and `dig`.

mod common;

use common::*;

#[test]
fn serves_a_pushed_repository_and_follows_pushes() {
    if let Some(why) = missing_tools() {
        println!("SKIP: {why}");
        return;
    }
    let dir = TempDir::new("e2e");
    let tmp = dir.path();
    let site = make_repository(tmp);
    let (bare, work) = (&site.bare, &site.work);

    let (appliance, http, dns) = start_serving(
        &["--repo", bare.to_str().unwrap()],
        tmp.join("appliance.log"),
    );

    // HTTP: pages with their types and validators.
    let head = curl(&["-i", &format!("http://127.0.0.1:{http}/")]);
    assert!(head.contains("<h1>first</h1>"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{head}"
    );
    let etag = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("ETag: ")
                .or_else(|| l.strip_prefix("etag: "))
        })
        .expect("an ETag")
        .trim()
        .to_owned();
    let blob = git(work, &["rev-parse", "HEAD:site/index.html"]);
    assert_eq!(
        etag,
        format!("\"{}\"", blob.trim()),
        "the ETag is the git blob id"
    );
    let not_modified = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &format!("If-None-Match: {etag}"),
        &format!("http://127.0.0.1:{http}/"),
    ]);
    assert_eq!(not_modified, "304");
    let css = curl(&["-i", &format!("http://127.0.0.1:{http}/css/site.css")]);
    assert!(
        css.to_ascii_lowercase().contains("content-type: text/css"),
        "{css}"
    );

    // DNS over UDP and TCP, with a wildcard.
    assert_eq!(dig(dns, &["www.example.com", "A"]), "192.0.2.1");
    assert_eq!(dig(dns, &["+tcp", "www.example.com", "A"]), "192.0.2.1");
    assert_eq!(dig(dns, &["x.pages.example.com", "TXT"]), "\"wildcard\"");

    // The webhook refuses a wrong secret.
    assert_eq!(hook(http, "wrong").0, "403");

    // Push a new page and zone; the webhook makes both change at once.
    push_and_hook(&site, (http, dns), "second", (2, "192.0.2.2"));
    assert!(hook(http, "s3cret").1.starts_with("unchanged"));

    // A broken zone is refused; the last good content stays.
    std::fs::write(
        work.join("zones/example.com.zone"),
        zone(3, "192.0.2.3") + "oops IN A not-an-address\n",
    )
    .unwrap();
    std::fs::write(work.join("site/index.html"), "<h1>third</h1>\n").unwrap();
    git(work, &["commit", "-q", "-am", "broken zone"]);
    git(work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let (code, body) = hook(http, "s3cret");
    assert_eq!(code, "422", "{body}");
    assert!(
        body.contains("example.com.zone"),
        "the error names the file: {body}"
    );
    assert_eq!(dig(dns, &["www.example.com", "A"]), "192.0.2.2");
    assert!(curl(&[&format!("http://127.0.0.1:{http}/")]).contains("<h1>second</h1>"));
    let log = std::fs::read_to_string(&appliance.log).unwrap();
    assert!(log.contains("not serving"), "the error is logged: {log}");

    drop(appliance);
    drop(dir);
}

#[test]
fn pulls_from_a_git_remote_over_the_network() {
    if let Some(why) = missing_tools() {
        println!("SKIP: {why}");
        return;
    }
    let dir = TempDir::new("remote");
    let tmp = dir.path();
    let site = make_repository(tmp);
    let daemon = GitDaemon::start(tmp);
    let (appliance, http, dns) = start_serving(
        &[
            "--remote",
            &daemon.url("site.git#main"),
            "--data-dir",
            tmp.join("data").to_str().unwrap(),
        ],
        tmp.join("appliance.log"),
    );
    assert!(curl(&[&format!("http://127.0.0.1:{http}/")]).contains("<h1>first</h1>"));
    assert_eq!(dig(dns, &["www.example.com", "A"]), "192.0.2.1");

    // A push to the remote, then the webhook: fetched over git:// and served.
    push_and_hook(&site, (http, dns), "pulled", (5, "192.0.2.5"));

    // The remote going away leaves the last content served.
    drop(daemon);
    let (code, body) = hook(http, "s3cret");
    assert_eq!(code, "502", "{body}");
    assert!(curl(&[&format!("http://127.0.0.1:{http}/")]).contains("<h1>pulled</h1>"));
    drop(appliance);
    drop(dir);
}

/// A name other than `localhost` (which the URL parser takes as 127.0.0.1
/// without asking a resolver) that the host resolves first to 127.0.0.1,
/// from `/etc/hosts`: `localhost.localdomain`, the machine's own name, ...
fn loopback_name() -> Option<String> {
    use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some((ip, words.map(str::to_owned).collect::<Vec<_>>()))
        })
        .filter(|(ip, _)| *ip == IpAddr::V4(Ipv4Addr::LOCALHOST))
        .flat_map(|(_, names)| names)
        .filter(|n| {
            !n.eq_ignore_ascii_case("localhost")
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .find(|n| {
            // What the appliance will connect to: the first address.
            (n.as_str(), 0)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .is_some_and(|a| a.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST))
        })
}

#[test]
fn pulls_from_a_remote_named_by_host_name() {
    if let Some(why) = missing_tools() {
        println!("SKIP: {why}");
        return;
    }
    let Some(name) = loopback_name() else {
        println!("SKIP: /etc/hosts names no host other than localhost at 127.0.0.1");
        return;
    };
    let dir = TempDir::new("remote-name");
    let tmp = dir.path();
    let site = make_repository(tmp);
    let daemon = GitDaemon::start(tmp);
    let url = format!("git://{name}:{}/site.git#main", daemon.port);
    let (appliance, http, dns) = start_serving(
        &[
            "--remote",
            &url,
            "--data-dir",
            tmp.join("data").to_str().unwrap(),
        ],
        tmp.join("appliance.log"),
    );
    assert!(curl(&[&format!("http://127.0.0.1:{http}/")]).contains("<h1>first</h1>"));
    assert_eq!(dig(dns, &["www.example.com", "A"]), "192.0.2.1");
    // Later pulls go to the address resolved at start.
    push_and_hook(&site, (http, dns), "by-name", (6, "192.0.2.6"));
    drop(appliance);
    drop(daemon);
    drop(dir);
}

#[test]
fn refuses_a_remote_whose_name_does_not_resolve() {
    let dir = TempDir::new("remote-unknown");
    let tmp = dir.path();
    std::fs::create_dir_all(tmp).unwrap();
    let log = tmp.join("appliance.log");
    let (http, dns) = (free_port(), free_port());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_homepage"))
        .args([
            "--remote",
            // RFC 6761: `.invalid` names never exist.
            "git://mirage-rs-test.invalid/site.git",
            "--data-dir",
            tmp.join("data").to_str().unwrap(),
            "--http",
            &format!("127.0.0.1:{http}"),
            "--dns",
            &format!("127.0.0.1:{dns}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the appliance");
    let mut child = ChildGuard::new(child);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the appliance kept running with an unresolvable remote"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("cannot resolve host \"mirage-rs-test.invalid\""),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
