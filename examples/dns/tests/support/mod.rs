//! What the tests that run real processes share: free ports, a zone
//! directory that cleans up after itself, and the built appliance.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A port free for both TCP and UDP on 127.0.0.1 (at the moment of asking).
pub fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// A temporary directory of zone files, removed on drop.
pub struct ZoneDir(PathBuf);

impl ZoneDir {
    /// Writes `files` (name, text) into a new directory named after `tag`.
    pub fn new(tag: &str, files: &[(&str, &str)]) -> ZoneDir {
        let dir = std::env::temp_dir().join(format!("mirage-dns-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        ZoneDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ZoneDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process on 127.0.0.1, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    Server { child, port }
}
