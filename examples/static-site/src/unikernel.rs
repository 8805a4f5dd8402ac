//! The appliance, generic over its devices: it knows only the mirage-core
//! signatures, so the same `start` runs on host sockets, on our own TCP/IP
//! stack, or in a simulation.

use core::net::SocketAddr;

use mirage_core::{Clock, KvRo, Stack, StackError};
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
