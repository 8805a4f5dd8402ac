//! Running the `git` command line from tests, `git daemon` on loopback, and
//! a bare repository with a work tree that pushes to it.
//!
//! Every `git` here runs with a fixed identity and without the user's or
//! the system's configuration, so what it writes depends on the test alone.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::ports;
use crate::process::{self, ChildGuard};
use crate::tools;

/// Whether `git` is installed; if not, prints
/// `SKIP: <test>: the git command is not installed`.
pub fn available(test: &str) -> bool {
    let ok = tools::have("git");
    if !ok {
        tools::skip(format!("{test}: the git command is not installed"));
    }
    ok
}

/// The identity `git` commits and tags as: author, committer and tagger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Git {
    name: &'static str,
    email: &'static str,
}

impl Git {
    /// `Test <test@example.org>`.
    pub const TEST: Git = Git::new("Test", "test@example.org");

    /// Commits as `name <email>`.
    pub const fn new(name: &'static str, email: &'static str) -> Git {
        Git { name, email }
    }

    /// `git <args>` run in `dir`, reading no system or global
    /// configuration, with this identity; to spawn or pipe as the test needs.
    pub fn command(self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", self.name)
            .env("GIT_AUTHOR_EMAIL", self.email)
            .env("GIT_COMMITTER_NAME", self.name)
            .env("GIT_COMMITTER_EMAIL", self.email);
        cmd
    }

    /// Runs `git <args>` in `dir` and returns its standard output; panics
    /// with git's words if it fails.
    pub fn bytes(self, dir: &Path, args: &[&str]) -> Vec<u8> {
        process::output(&mut self.command(dir, args))
    }

    /// Like [`Git::bytes`], as text; panics if git's output is not UTF-8.
    pub fn run(self, dir: &Path, args: &[&str]) -> String {
        String::from_utf8(self.bytes(dir, args)).expect("git printed UTF-8")
    }
}

/// Runs `git <args>` in `dir` as [`Git::TEST`] and returns its standard
/// output; panics with git's words if it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    Git::TEST.run(dir, args)
}

/// The `git-daemon` program itself: `git daemon` is a wrapper process, and
/// killing the wrapper would leave the daemon running.
pub fn git_daemon_command() -> Command {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let daemon = Path::new(&exec_path).join("git-daemon");
    if daemon.is_file() {
        Command::new(daemon)
    } else {
        let mut cmd = Command::new("git");
        cmd.arg("daemon");
        cmd
    }
}

/// How a [`GitDaemon`] serves. The default: read-only, on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonOptions {
    /// The loopback address it listens on (`127.0.0.1` or `::1`).
    pub ip: IpAddr,
    /// Accepts pushes (`--enable=receive-pack`).
    pub receive_pack: bool,
    /// Tells clients why a request failed, e.g. that a repository does not
    /// exist (`--informative-errors`).
    pub informative_errors: bool,
}

impl Default for DaemonOptions {
    fn default() -> DaemonOptions {
        DaemonOptions {
            ip: Ipv4Addr::LOCALHOST.into(),
            receive_pack: false,
            informative_errors: false,
        }
    }
}

/// `git daemon` exporting every repository under a base directory over
/// `git://`; killed and reaped on drop.
#[derive(Debug)]
pub struct GitDaemon {
    _child: ChildGuard,
    /// The address it listens on.
    pub ip: IpAddr,
    /// Its port.
    pub port: u16,
}

impl GitDaemon {
    /// Serves `base` read-only on 127.0.0.1 and waits until it accepts
    /// connections.
    pub fn start(base: &Path) -> GitDaemon {
        GitDaemon::start_with(base, DaemonOptions::default())
    }

    /// Serves `base` as `options` say and waits (up to 10 s) until it
    /// accepts connections; panics if it does not.
    pub fn start_with(base: &Path, options: DaemonOptions) -> GitDaemon {
        let ip = options.ip;
        let port = ports::free_tcp_port(ip);
        let mut cmd = git_daemon_command();
        cmd.args(["--export-all", "--reuseaddr"]);
        if options.receive_pack {
            cmd.arg("--enable=receive-pack");
        }
        if options.informative_errors {
            cmd.arg("--informative-errors");
        }
        cmd.arg(format!("--base-path={}", base.display()))
            .arg(format!("--listen={ip}"))
            .arg(format!("--port={port}"))
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = ChildGuard::spawn(&mut cmd);
        assert!(
            ports::wait_for_tcp((ip, port), Duration::from_secs(10)),
            "git daemon did not start on port {port}"
        );
        GitDaemon {
            _child: child,
            ip,
            port,
        }
    }

    /// The `git://` URL of `path` (relative to the base directory).
    pub fn url(&self, path: &str) -> String {
        match self.ip {
            IpAddr::V4(ip) => format!("git://{ip}:{}/{path}", self.port),
            IpAddr::V6(ip) => format!("git://[{ip}]:{}/{path}", self.port),
        }
    }
}

/// A bare repository `site.git` on branch `main` and a work tree `work`
/// beside it whose commits are pushed there: the "remote" a test clones,
/// pulls from and pushes to.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The bare repository.
    pub bare: PathBuf,
    /// The work tree.
    pub work: PathBuf,
    /// Who commits in the work tree.
    pub git: Git,
}

impl Remote {
    /// Makes `<dir>/site.git` (bare) and `<dir>/work`, both on `main`,
    /// with no commits yet.
    pub fn create(dir: &Path, git: Git) -> Remote {
        let bare = dir.join("site.git");
        let work = dir.join("work");
        let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
        git.run(dir, &["init", "-q", "--bare", "-b", "main", &path(&bare)]);
        git.run(dir, &["init", "-q", "-b", "main", &path(&work)]);
        Remote { bare, work, git }
    }

    /// Runs `git <args>` in the work tree.
    pub fn git(&self, args: &[&str]) -> String {
        self.git.run(&self.work, args)
    }

    /// Commits everything in the work tree (added, changed, removed) with
    /// `message` and pushes `main` to the bare repository; returns the new
    /// commit's id.
    pub fn commit_and_push(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.push();
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Pushes the work tree's `main` to the bare repository.
    pub fn push(&self) {
        let bare = self.bare.to_str().expect("a UTF-8 path").to_owned();
        self.git(&["push", "-q", &bare, "main"]);
    }
}
