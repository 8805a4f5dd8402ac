//! Helpers shared by the end-to-end tests: a repository made with `git`,
//! the appliance binary as a child process, `curl` and `dig`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mirage_testkit::git::{Git, Remote};
// Each test binary uses some of these.
#[allow(unused_imports)]
pub use mirage_testkit::{
    git::{GitDaemon, git},
    ports::free_port,
    process::ChildGuard,
    tmp::TempDir,
};

/// The appliance binary running as a child process (killed and reaped on
/// drop), and the file its error output goes to.
pub struct Appliance {
    pub child: ChildGuard,
    pub log: PathBuf,
}

pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn dig(port: u16, args: &[&str]) -> String {
    let out = Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "+short",
            "+tries=1",
            "+time=2",
        ])
        .args(args)
        .output()
        .expect("dig");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn zone(serial: u32, address: &str) -> String {
    format!(
        "$ORIGIN example.com.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster {serial} 3600 600 86400 60\n\
         @ IN NS ns1\n\
         ns1 IN A 127.0.0.1\n\
         www IN A {address}\n\
         *.pages IN TXT \"wildcard\"\n"
    )
}

pub fn hook(http: u16, secret: &str) -> (String, String) {
    let out = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Hook-Secret: {secret}"),
        "-w",
        "\n%{http_code}",
        &format!("http://127.0.0.1:{http}/hook"),
    ]);
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", &out));
    (code.to_owned(), body.to_owned())
}

/// A bare repository `site.git` and a work tree `work` under `tmp` (made
/// afresh), with a first commit of a page, a stylesheet and an
/// `example.com` zone pushed.
pub fn make_repository(tmp: &Path) -> Remote {
    let _ = std::fs::remove_dir_all(tmp);
    std::fs::create_dir_all(tmp).unwrap();
    let site = Remote::create(tmp, Git::TEST);
    let work = &site.work;
    std::fs::create_dir_all(work.join("site/css")).unwrap();
    std::fs::create_dir_all(work.join("zones")).unwrap();
    std::fs::write(work.join("site/index.html"), "<h1>first</h1>\n").unwrap();
    std::fs::write(work.join("site/css/site.css"), "body{}\n").unwrap();
    std::fs::write(work.join("zones/example.com.zone"), zone(1, "192.0.2.1")).unwrap();
    site.commit_and_push("first");
    site
}

/// Commits a page `<h1>{word}</h1>` and a zone of `serial` with `www` at
/// `address`, pushes them, calls the webhook of the appliance serving on
/// ports `http` and `dns`, and checks that it took the update and serves
/// both within a second of the push.
pub fn push_and_hook(
    site: &Remote,
    (http, dns): (u16, u16),
    word: &str,
    (serial, address): (u32, &str),
) {
    let work = &site.work;
    std::fs::write(work.join("site/index.html"), format!("<h1>{word}</h1>\n")).unwrap();
    std::fs::write(work.join("zones/example.com.zone"), zone(serial, address)).unwrap();
    site.git(&["commit", "-q", "-am", word]);
    site.push();
    let pushed = std::time::Instant::now();
    let (code, body) = hook(http, "s3cret");
    assert_eq!(code, "200", "{body}");
    assert!(body.starts_with("updated"), "{body}");
    assert!(curl(&[&format!("http://127.0.0.1:{http}/")]).contains(&format!("<h1>{word}</h1>")));
    assert_eq!(dig(dns, &["www.example.com", "A"]), address);
    assert!(
        pushed.elapsed() < std::time::Duration::from_secs(1),
        "took {:?}",
        pushed.elapsed()
    );
}

/// Why the tools the tests need are missing, if they are.
pub fn missing_tools() -> Option<String> {
    mirage_testkit::tools::missing(&["git", "curl", "dig"])
}

/// Starts the appliance serving the site from `source` (`--repo <path>`,
/// or `--remote <url>` and its data directory) on free loopback ports, with
/// the webhook secret `s3cret` and no polling, logging to `log`; returns it
/// with its HTTP and DNS ports once HTTP answers.
pub fn start_serving(source: &[&str], log: PathBuf) -> (Appliance, u16, u16) {
    let (http, dns) = (free_port(), free_port());
    let mut args: Vec<String> = source.iter().map(|s| s.to_string()).collect();
    args.extend(
        [
            "--http",
            &format!("127.0.0.1:{http}"),
            "--dns",
            &format!("127.0.0.1:{dns}"),
            "--hook-secret",
            "s3cret",
            "--poll",
            "0",
        ]
        .map(String::from),
    );
    (start_appliance(&args, http, log), http, dns)
}

/// Starts the appliance binary with `args` and waits until HTTP answers on
/// `http`.
pub fn start_appliance(args: &[String], http: u16, log: PathBuf) -> Appliance {
    let child = Command::new(env!("CARGO_BIN_EXE_homepage"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the appliance");
    let appliance = Appliance {
        child: ChildGuard::new(child),
        log,
    };
    let started = std::time::Instant::now();
    while curl(&[&format!("http://127.0.0.1:{http}/")]).is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the appliance did not come up: {}",
            std::fs::read_to_string(&appliance.log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    appliance
}
