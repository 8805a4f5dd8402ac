//! TAP devices and network namespaces that a test makes and removes itself,
//! and the checks that say whether this host lets it.
//!
//! The usual shape: the test creates a TAP device, our stack attaches to
//! it, then the host side of the link moves into a namespace of its own
//! with an address, where Linux tools talk to our stack. Everything is
//! removed when the guard drops, however the test ends.

use std::os::fd::AsRawFd;
use std::process::Command;

use crate::process;
use crate::tools;

/// Why this host cannot make TAP devices and network namespaces, if it
/// cannot: not root, no `/dev/net/tun`, no `ip` (iproute2).
pub fn unsupported() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root for TAP devices and network namespaces".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    if !tools::have("ip") {
        return Some("`ip` (iproute2) is not installed".into());
    }
    None
}

/// Like [`unsupported`], and also the first of `programs` not installed.
pub fn unsupported_or_missing(programs: &[&str]) -> Option<String> {
    unsupported().or_else(|| tools::missing(programs))
}

/// Runs `ip <args>` and returns its output; panics with its error output
/// if it fails.
pub fn ip(args: &[&str]) -> String {
    process::run(Command::new("ip").args(args))
}

/// Whether a network device named `dev` exists (in this namespace).
pub fn link_exists(dev: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", dev])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether a named network namespace `ns` exists.
pub fn namespace_exists(ns: &str) -> bool {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns))
        })
}

/// Network namespaces and links deleted when dropped, namespaces first
/// (which also removes the devices inside them), then links.
#[derive(Debug, Default)]
pub struct Cleanup {
    namespaces: Vec<String>,
    links: Vec<String>,
}

impl Cleanup {
    /// Nothing to remove yet.
    pub fn new() -> Cleanup {
        Cleanup::default()
    }

    /// Deletes namespace `ns` on drop.
    pub fn namespace(&mut self, ns: impl Into<String>) -> &mut Cleanup {
        self.namespaces.push(ns.into());
        self
    }

    /// Deletes link `dev` on drop.
    pub fn link(&mut self, dev: impl Into<String>) -> &mut Cleanup {
        self.links.push(dev.into());
        self
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        for dev in &self.links {
            let _ = Command::new("ip").args(["link", "del", dev]).output();
        }
    }
}

/// A TAP device `dev` whose host side goes into a network namespace `ns`;
/// both are deleted on drop. Creating the value makes nothing: the test
/// calls [`TapNamespace::add_tap`] and [`TapNamespace::move_host_side`]
/// when its order needs them.
#[derive(Debug)]
pub struct TapNamespace {
    /// The namespace's name.
    pub ns: String,
    /// The TAP device's name.
    pub dev: String,
    _cleanup: Cleanup,
}

impl TapNamespace {
    /// Names `<ns_prefix>-<id>` and `<dev_prefix><id>`, where `id` is the
    /// process id modulo 100 000 (device names are at most 15 bytes).
    pub fn named(ns_prefix: &str, dev_prefix: &str) -> TapNamespace {
        let id = std::process::id() % 100_000;
        TapNamespace::new(format!("{ns_prefix}-{id}"), format!("{dev_prefix}{id}"))
    }

    /// Exactly these names.
    pub fn new(ns: String, dev: String) -> TapNamespace {
        let mut cleanup = Cleanup::new();
        cleanup.namespace(&ns).link(&dev);
        TapNamespace {
            ns,
            dev,
            _cleanup: cleanup,
        }
    }

    /// Creates the TAP device (`ip tuntap add dev <dev> mode tap`).
    pub fn add_tap(&self) {
        ip(&["tuntap", "add", "dev", &self.dev, "mode", "tap"]);
    }

    /// Creates the namespace and moves the device's host side into it.
    pub fn move_into_namespace(&self) {
        ip(&["netns", "add", &self.ns]);
        ip(&["link", "set", &self.dev, "netns", &self.ns]);
    }

    /// Runs `ip -n <ns> <args>` (inside the namespace).
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Gives the device's host side the address `cidr` (e.g. `10.0.0.1/24`).
    pub fn add_address(&self, cidr: &str) {
        self.ip(&["addr", "add", cidr, "dev", &self.dev]);
    }

    /// Brings the device's host side up.
    pub fn up(&self) {
        self.ip(&["link", "set", &self.dev, "up"]);
    }

    /// Brings the namespace's loopback up.
    pub fn loopback_up(&self) {
        self.ip(&["link", "set", "lo", "up"]);
    }

    /// The common sequence: [`move_into_namespace`](Self::move_into_namespace),
    /// [`add_address`](Self::add_address) `cidr`, [`up`](Self::up).
    pub fn move_host_side(&self, cidr: &str) {
        self.move_into_namespace();
        self.add_address(cidr);
        self.up();
    }

    /// `ip netns exec <ns> <cmd>`: a command run inside the namespace, to
    /// spawn or pipe as the test needs.
    pub fn exec(&self, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).args(cmd);
        c
    }
}

/// Runs `f` on a thread that has entered the network namespace `ns` (made
/// with `ip netns add`), so sockets it opens live there; returns its result.
pub fn in_namespace<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("the namespace file");
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on a descriptor `file` owns; it moves only this
            // thread, which ends with the scope.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("the thread in the namespace")
    })
}
