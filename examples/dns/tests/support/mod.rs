//! What the tests that run real processes share: a zone directory that
//! cleans up after itself, server processes (the built appliance, Knot)
//! killed on drop, and zone signing with the ldns tools; free ports come
//! from mirage-testkit.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use mirage_testkit::process::{self, ChildGuard};
use mirage_testkit::tmp::TempDir;

pub use mirage_testkit::ports::free_port;

/// A temporary directory of zone files, removed on drop.
pub struct ZoneDir(TempDir);

impl ZoneDir {
    /// Writes `files` (name, text) into a new directory named after `tag`.
    pub fn new(tag: &str, files: &[(&str, &str)]) -> ZoneDir {
        let dir = TempDir::new(tag);
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        ZoneDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A server process on 127.0.0.1, killed and reaped on drop.
pub struct Server {
    _child: ChildGuard,
    /// The port it serves on.
    pub port: u16,
}

impl Server {
    /// Guards `child`, which serves on `port`.
    pub fn new(child: Child, port: u16) -> Server {
        Server {
            _child: ChildGuard::new(child),
            port,
        }
    }
}

/// Starts `knotd` on 127.0.0.1:`port` with its configuration, database and
/// run directory in `dir`: `server` adds lines to the `server:` section,
/// `log` is the level it logs at to `stderr`, and `rest` holds the key,
/// remote, acl and zone sections. `None` if it cannot be started.
#[allow(dead_code)] // Not every test binary runs Knot.
pub fn start_knot(
    dir: &Path,
    port: u16,
    server: &str,
    log: &str,
    rest: &str,
    stderr: Stdio,
) -> Option<Server> {
    let conf = mirage_testkit::peers::knot_conf(dir, port, server, log, rest);
    let child = Command::new("knotd")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stderr(stderr)
        .spawn()
        .ok()?;
    Some(Server::new(child, port))
}

/// Signs `example.com.zone` in `dir` with a new ED25519 key from
/// `ldns-keygen` and `ldns-signzone` given `chain_args` (NSEC, or NSEC3
/// with `-n`); returns the signed zone's text. The key files stay in `dir`.
#[allow(dead_code)] // Not every test binary signs.
pub fn sign_zone(dir: &Path, chain_args: &[&str]) -> String {
    let run = |cmd: &str, args: &[&str]| {
        process::run(Command::new(cmd).args(args).current_dir(dir))
            .trim()
            .to_owned()
    };
    let key = run("ldns-keygen", &["-a", "ED25519", "-k", "example.com"]);
    let mut args = chain_args.to_vec();
    args.extend(["-o", "example.com.", "example.com.zone", &key]);
    run("ldns-signzone", &args);
    std::fs::read_to_string(dir.join("example.com.zone.signed")).unwrap()
}

/// Starts the built appliance on a free port, serving the zones in `dir`.
#[allow(dead_code)] // Not every test binary uses both starters.
pub fn start_appliance(dir: &Path) -> Server {
    start_appliance_with(dir, "dir-ro", &[])
}

/// Starts the built appliance on a free port, serving the zones in `dir`
/// opened as `kind` (`dir` or `dir-ro`), with `extra` arguments.
#[allow(dead_code)]
pub fn start_appliance_with(dir: &Path, kind: &str, extra: &[String]) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_dns"))
        .args([
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "warn",
            "--kv",
        ])
        .arg(format!("zones={kind}:{}", dir.display()))
        .args(extra)
        .stdin(Stdio::null())
        .spawn()
        .expect("the dns binary starts");
    Server::new(child, port)
}
