//! The Unix main of the homepage appliance: parses the command line, opens
//! (or creates) the repository, and applies [`homepage::unikernel::start`]
//! to the devices of `mirage_unix::run`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use homepage::unikernel::{self, Config};
use homepage::upstream::{Remote, SharedRepository};
use mirage_irmin::sync::Url;
use mirage_irmin::{FsBackend, FsOptions, HashKind, Repo};
use mirage_unix::{BoxError, Devices, SystemResolver};

/// The homepage appliance: your site over HTTP and your zone over DNS, from
/// a Git repository.
#[derive(Clone, Debug, clap::Args)]
struct Args {
    /// A Git repository on this machine to serve from (a bare repository
    /// you push to, or a work tree's `.git`). Without it (and without
    /// `--remote`) a demo repository is created under `--data-dir`.
    #[arg(long, value_name = "PATH", conflicts_with = "remote")]
    repo: Option<PathBuf>,
    /// A Git remote to pull from, `URL[#branch]`: `git://`, `http://` or
    /// `file://`. A host name is resolved once, at start, by the host's
    /// resolver (`/etc/hosts`, its DNS servers).
    #[arg(long, value_name = "URL[#BRANCH]")]
    remote: Option<String>,
    /// The branch to serve (overridden by `#branch` in `--remote`).
    #[arg(long, default_value = "main")]
    branch: String,
    /// Where the demo repository (and fetched data) lives.
    #[arg(long, value_name = "DIR", default_value = "homepage-data")]
    data_dir: PathBuf,
    /// Where to serve HTTP.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Where to serve DNS (UDP and TCP).
    #[arg(long, default_value = "127.0.0.1:5353")]
    dns: SocketAddr,
    /// The secret that `POST /hook` must carry in an `X-Hook-Secret` header
    /// to make the appliance pull at once. Without it the webhook is off.
    #[arg(long, value_name = "SECRET")]
    hook_secret: Option<String>,
    /// Seconds between pulls; 0 disables polling.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    poll: u64,
}

async fn start(devices: Devices<Args>) -> Result<(), BoxError> {
    let args = devices.args().clone();
    let clock = devices.clock();
    let (path, demo) = match (&args.repo, &args.remote) {
        (Some(p), _) => (p.clone(), false),
        (None, Some(_)) => (args.data_dir.join("remote.git"), false),
        (None, None) => (args.data_dir.join("site.git"), true),
    };
    let backend = if args.repo.is_some() {
        FsBackend::open(&path)?
    } else {
        FsBackend::init(&path, HashKind::Sha1, FsOptions::default())?
    };
    let repo = Repo::new(backend, clock);
    let mut branch = args.branch.clone();
    let remote = match &args.remote {
        Some(spec) => {
            let (url, b) = homepage::upstream::split_remote(spec);
            if let Some(b) = b {
                branch = b.to_owned();
            }
            // Checked (and resolved) once here, so a bad URL stops the
            // appliance at once; each pull resolves the name again.
            Url::resolve(url, &SystemResolver)
                .await
                .map_err(|e| format!("--remote {spec}: {e}"))?;
            Some(url.to_owned())
        }
        None => None,
    };
    if demo {
        homepage::demo::seed(&repo, &branch).await?;
    }
    let config = Config {
        branch: branch.clone(),
        http: args.http,
        dns: args.dns,
        poll: (args.poll > 0).then(|| Duration::from_secs(args.poll)),
        hook_secret: args.hook_secret.clone(),
        http_config: Default::default(),
        dns_options: Default::default(),
        site_options: Default::default(),
    };
    if devices.instance() == 0 {
        // The banner is a courtesy: a closed stdout must not stop the appliance.
        let mut banner = format!(
            "Serving {} (branch {})\n  HTTP: curl http://{}/\n  DNS:  dig @{} -p {} example.org SOA\n",
            args.remote
                .as_deref()
                .map_or_else(|| path.display().to_string(), String::from),
            branch,
            args.http,
            args.dns.ip(),
            args.dns.port()
        );
        if demo {
            banner.push_str(&format!(
                "  Edit: git clone {} work && cd work && (edit) && git commit -a && git push\n",
                path.display()
            ));
        }
        let mut out = std::io::stdout();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    match remote {
        Some(url) => {
            let upstream = Remote::new(devices.stack(), repo.clone(), url, SystemResolver, branch);
            unikernel::start(devices.stack(), clock, repo, upstream, config).await?
        }
        None => unikernel::start(devices.stack(), clock, repo, SharedRepository, config).await?,
    }
    Ok(())
}

/// Runs the appliance as a Unix process.
pub fn main() -> std::process::ExitCode {
    mirage_unix::run_with(start)
}
