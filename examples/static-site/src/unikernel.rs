//! The appliance, generic over its devices: it knows only the mirage-core
//! signatures, so the same `start` runs on host sockets, on our own TCP/IP
//! stack, or in a simulation.

use core::net::SocketAddr;

use mirage_core::{Clock, EntryKind, Key, KvError, KvRo, KvRw, Stack, StackError};
use mirage_http::{Config, Server, SiteOptions, StaticSite};

/// What the appliance is told at boot.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen, e.g. `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// Server limits and timeouts.
    pub http: Config,
    /// Index file, 404 page, gzip siblings.
    pub site: SiteOptions,
}

/// Why the appliance stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The stack's reason.
        source: StackError,
    },
    /// The listener failed for good while serving.
    #[error("the listener on {addr} failed: {source}")]
    Serve {
        /// The address served.
        addr: SocketAddr,
        /// The stack's reason.
        source: StackError,
    },
}

/// Serves the files of `site` over HTTP on `stack` until the listener fails.
pub async fn start<S: Stack, K: KvRo, C: Clock>(
    stack: S,
    site: K,
    clock: C,
    options: Options,
) -> Result<(), Error> {
    let addr = options.listen;
    let listener = stack
        .tcp_listen(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })?;
    log::info!("serving a static site on http://{addr}/");
    let server = Server::with_config(StaticSite::with_options(site, options.site), options.http);
    server
        .serve_listener(&listener, &clock)
        .await
        .map_err(|source| Error::Serve { addr, source })
}

/// Copies every value of `from` into `to`, returning how many. Used to
/// "crunch" a site into memory at boot (as MirageOS's `crunch` does at build
/// time), so that serving never touches the disk. Names that are not valid
/// keys are skipped.
pub async fn copy_tree<A: KvRo, B: KvRw>(from: &A, to: &B) -> Result<usize, KvError> {
    let mut dirs = vec![Key::root()];
    let mut copied = 0;
    while let Some(dir) = dirs.pop() {
        for (name, kind) in from.list(&dir).await? {
            let Ok(key) = dir.join(name) else { continue };
            match kind {
                EntryKind::Dictionary => dirs.push(key),
                EntryKind::Value => {
                    to.set(&key, from.get(&key).await?).await?;
                    copied += 1;
                }
            }
        }
    }
    Ok(copied)
}
