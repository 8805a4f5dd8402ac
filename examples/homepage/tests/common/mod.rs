//! Helpers shared by the end-to-end tests: a repository made with `git`,
//! the appliance binary as a child process, `curl` and `dig`.
#![allow(dead_code)]

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.org"])
        .args(args))
}

/// A port free for both TCP and UDP on 127.0.0.1.
pub fn free_port() -> u16 {
    loop {
        let t = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub struct Appliance {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// A bare repository `site.git` and a work tree `work` under `tmp`, with a
/// first commit of a page, a stylesheet and an `example.com` zone pushed.
pub fn make_repository(tmp: &Path) -> (PathBuf, PathBuf) {
    let _ = std::fs::remove_dir_all(tmp);
    std::fs::create_dir_all(tmp).unwrap();
    let bare = tmp.join("site.git");
    let work = tmp.join("work");
    run(Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&bare));
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .arg(&work));
    std::fs::create_dir_all(work.join("site/css")).unwrap();
    std::fs::create_dir_all(work.join("zones")).unwrap();
    std::fs::write(work.join("site/index.html"), "<h1>first</h1>\n").unwrap();
    std::fs::write(work.join("site/css/site.css"), "body{}\n").unwrap();
    std::fs::write(work.join("zones/example.com.zone"), zone(1, "192.0.2.1")).unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "first"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    (bare, work)
}

/// Why the tools the tests need are missing, if they are.
pub fn missing_tools() -> Option<String> {
    ["git", "curl", "dig"]
        .into_iter()
        .find(|t| !have(t))
        .map(|t| format!("`{t}` is not installed"))
}

/// The `git-daemon` program itself: `git daemon` is a wrapper process, and
/// killing the wrapper would leave the daemon running.
pub fn git_daemon_command() -> Command {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let daemon = std::path::Path::new(&exec_path).join("git-daemon");
    if daemon.is_file() {
        Command::new(daemon)
    } else {
        let mut cmd = Command::new("git");
        cmd.arg("daemon");
        cmd
    }
}

/// `git daemon` serving the repositories under `base` on 127.0.0.1.
pub struct GitDaemon {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl GitDaemon {
    /// Starts it and waits until it accepts connections.
    pub fn start(base: &Path) -> GitDaemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = git_daemon_command()
            .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "git daemon did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        GitDaemon { child, port }
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let appliance = Appliance { child, log };
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
