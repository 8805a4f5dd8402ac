//! The Xen main of the homepage appliance. The runtime reads the boot
//! command line (`extra=` in the xl configuration):
//!
//! - `ipv4=ADDR/LEN` and `gateway=ADDR`, or `ipv4=dhcp`: the network on
//!   netfront `vif/0` (required: the appliance serves on its address);
//! - `remote=git://HOST[:PORT]/PATH[#BRANCH]`: the Git remote to clone the
//!   content from at boot and to pull from every `poll=SECS` seconds
//!   (default 10; 0 stops polling). Without it the guest serves the
//!   built-in demo content. A HOST name is resolved once at boot by
//!   mirage-dns's stub resolver, asking `resolver=ADDR[,ADDR...]` (port
//!   53), or else the DNS servers of the DHCP lease.
//!
//! The repository lives in memory (mirage-irmin's `MemBackend`); DNS is
//! served on ADDR:53 (UDP and TCP) and HTTP on ADDR:80. Log lines go to the
//! debug console, which Xen shows as the guest's `(dN)` lines.

#![allow(unreachable_pub)]

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use homepage::unikernel::{self, Config};
use homepage::upstream::{Remote, SharedRepository};
use mirage_dns::client::{Options as ResolverOptions, StubResolver};
use mirage_irmin::sync::Url;
use mirage_irmin::{HashKind, MemBackend, Repo};
use mirage_xen_rt::{Boot, Devices};

/// The guest's entry: the runtime, then the appliance on its devices.
pub fn main(boot: Boot) -> ! {
    log::set_logger(&ConsoleLogger).ok();
    log::set_max_level(log::LevelFilter::Info);
    mirage_xen_rt::run(boot, start)
}

/// What the boot command line asked for, beyond what the runtime reads.
struct Options {
    poll: Option<Duration>,
    resolvers: Vec<SocketAddr>,
}

impl Options {
    fn parse(cmdline: &str) -> Result<Options, String> {
        let mut poll = Some(Duration::from_secs(10));
        let mut resolvers = Vec::new();
        for word in cmdline.split_whitespace() {
            if let Some(v) = word.strip_prefix("resolver=") {
                for addr in v.split(',') {
                    let ip: std::net::IpAddr = addr
                        .parse()
                        .map_err(|_| format!("resolver={v}: {addr:?} is not an IP address"))?;
                    resolvers.push(SocketAddr::new(ip, 53));
                }
            } else if let Some(v) = word.strip_prefix("poll=") {
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("poll={v}: not a number of seconds"))?;
                poll = (secs > 0).then(|| Duration::from_secs(secs));
            }
        }
        Ok(Options { poll, resolvers })
    }
}

async fn start(devices: Devices) -> Result<(), Box<dyn Error>> {
    let booted = std::time::Instant::now();
    let options = Options::parse(devices.cmdline())?;
    let Some(stack) = devices.stack() else {
        return Err("no network: boot with ipv4=ADDR/LEN or ipv4=dhcp (and a vif)".into());
    };
    // The runtime starts the application once a DHCP lease is in.
    let Some(addr) = stack.ipv4().map(|ip| ip.address) else {
        return Err("the network has no IPv4 address".into());
    };
    let clock = devices.clock();
    let repo = Repo::new(MemBackend::new(HashKind::Sha1), clock.clone());
    let mut branch = String::from("main");
    let remote = match &devices.params().remote {
        Some(spec) => {
            let (url, b) = homepage::upstream::split_remote(spec);
            if let Some(b) = b {
                branch = b.to_owned();
            }
            let mut servers = options.resolvers.clone();
            if servers.is_empty() {
                let lease = stack.ipv4().map(|ip| ip.dns_servers).unwrap_or_default();
                servers.extend(lease.into_iter().map(|ip| SocketAddr::new(ip.into(), 53)));
            }
            let resolver = StubResolver::new(
                stack.clone(),
                clock.clone(),
                devices.random(),
                ResolverOptions::new(servers),
            );
            // Checked (and resolved) once here, so a bad URL stops the
            // guest at once; each pull resolves the name again.
            let resolved = Url::resolve(url, &resolver)
                .await
                .map_err(|e| format!("remote={spec}: {e}"))?;
            log::info!("homepage: remote {url} is {resolved}");
            Some((url.to_owned(), resolver))
        }
        None => None,
    };
    let config = Config {
        branch: branch.clone(),
        http: SocketAddr::new(addr.into(), 80),
        dns: SocketAddr::new(addr.into(), 53),
        poll: options.poll,
        hook_secret: None,
        http_config: Default::default(),
        dns_options: Default::default(),
        site_options: Default::default(),
    };
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    log::info!(
        "homepage: configured in {:?}, wall clock {} s since the epoch (std::time)",
        booted.elapsed(),
        since_epoch.as_secs()
    );
    match remote {
        Some((url, resolver)) => {
            log::info!("homepage: cloning {url} (branch {branch})");
            let upstream = Remote::new(stack.clone(), repo.clone(), url, resolver, branch);
            unikernel::start(stack, clock, repo, upstream, config).await?
        }
        None => {
            log::info!("homepage: no remote=, serving the demo content");
            homepage::demo::seed(&repo, &branch).await?;
            unikernel::start(stack, clock, repo, SharedRepository, config).await?
        }
    }
    Ok(())
}

/// Log records as lines on the debug console (through `std`'s standard
/// error, which the runtime sends there).
struct ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}
