//! The static-site appliance on Unix: host sockets, a directory as the site.
//!
//! ```text
//! static-site --kv site=dir-ro:/srv/www --listen 0.0.0.0:8080
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use mirage_core::mem::MemKv;
use mirage_http::{Config, SiteOptions};
use mirage_unix::{BoxError, Devices};
use static_site::unikernel::{Options, copy_tree, start};

/// The appliance's own options (the backend adds `--kv`, `--cores`, ...).
#[derive(Debug, Clone, clap::Args)]
struct Args {
    /// The address and port to serve on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// The key-value store holding the site: the NAME of a `--kv NAME=...`.
    #[arg(long, default_value = "site")]
    site: String,
    /// Never serve precompressed `NAME.gz` siblings.
    #[arg(long)]
    no_gzip_static: bool,
    /// Copy the whole site into memory at boot and serve it from there
    /// (changes on disk are then not seen; Last-Modified is the boot time).
    #[arg(long)]
    preload: bool,
    /// How many connections are served at once; more are refused.
    #[arg(long, default_value_t = Config::default().max_connections)]
    max_connections: usize,
}

fn main() -> ExitCode {
    mirage_unix::run_with(|devices: Devices<Args>| async move {
        let args = devices.args().clone();
        let site = devices.kv(&args.site)?;
        let options = Options {
            listen: args.listen,
            http: Config {
                max_connections: args.max_connections,
                ..Config::default()
            },
            site: SiteOptions {
                gzip_static: !args.no_gzip_static,
                ..SiteOptions::default()
            },
        };
        let clock = devices.clock();
        if args.preload {
            let memory = MemKv::new(clock);
            let n = copy_tree(&site, &memory).await?;
            log::info!("preloaded {n} files into memory");
            start(devices.stack(), memory, clock, options).await?;
        } else {
            start(devices.stack(), site, clock, options).await?;
        }
        Ok::<(), BoxError>(())
    })
}
