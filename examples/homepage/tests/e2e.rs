//! The appliance as a user runs it: the real binary on loopback ports,
//! serving a bare repository that the test pushes to with `git`, checked
//! with `curl` and `dig`.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.org"])
        .args(args))
}

/// A port free for both TCP and UDP on 127.0.0.1.
fn free_port() -> u16 {
    loop {
        let t = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Appliance {
    child: Child,
    log: PathBuf,
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dig(port: u16, args: &[&str]) -> String {
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

fn zone(serial: u32, address: &str) -> String {
    format!(
        "$ORIGIN example.com.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster {serial} 3600 600 86400 60\n\
         @ IN NS ns1\n\
         ns1 IN A 127.0.0.1\n\
         www IN A {address}\n\
         *.pages IN TXT \"wildcard\"\n"
    )
}

fn hook(http: u16, secret: &str) -> (String, String) {
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

#[test]
fn serves_a_pushed_repository_and_follows_pushes() {
    for tool in ["git", "curl", "dig"] {
        if !have(tool) {
            println!("SKIP: `{tool}` is not installed");
            return;
        }
    }
    let tmp = std::env::temp_dir().join(format!("homepage-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
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

    let (http, dns) = (free_port(), free_port());
    let log = tmp.join("appliance.log");
    let child = Command::new(env!("CARGO_BIN_EXE_homepage"))
        .arg("--repo")
        .arg(&bare)
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args(["--dns", &format!("127.0.0.1:{dns}")])
        .args(["--hook-secret", "s3cret", "--poll", "0"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the appliance");
    let appliance = Appliance { child, log };
    let started = Instant::now();
    while curl(&[&format!("http://127.0.0.1:{http}/")]).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the appliance did not come up: {}",
            std::fs::read_to_string(&appliance.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

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
    let blob = git(&work, &["rev-parse", "HEAD:site/index.html"]);
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
    std::fs::write(work.join("site/index.html"), "<h1>second</h1>\n").unwrap();
    std::fs::write(work.join("zones/example.com.zone"), zone(2, "192.0.2.2")).unwrap();
    git(&work, &["commit", "-q", "-am", "second"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let pushed = Instant::now();
    let (code, body) = hook(http, "s3cret");
    assert_eq!(code, "200", "{body}");
    assert!(body.starts_with("updated"), "{body}");
    assert!(curl(&[&format!("http://127.0.0.1:{http}/")]).contains("<h1>second</h1>"));
    assert_eq!(dig(dns, &["www.example.com", "A"]), "192.0.2.2");
    assert!(
        pushed.elapsed() < Duration::from_secs(1),
        "took {:?}",
        pushed.elapsed()
    );
    assert!(hook(http, "s3cret").1.starts_with("unchanged"));

    // A broken zone is refused; the last good content stays.
    std::fs::write(
        work.join("zones/example.com.zone"),
        zone(3, "192.0.2.3") + "oops IN A not-an-address\n",
    )
    .unwrap();
    std::fs::write(work.join("site/index.html"), "<h1>third</h1>\n").unwrap();
    git(&work, &["commit", "-q", "-am", "broken zone"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
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
    let _ = std::fs::remove_dir_all(&tmp);
}
