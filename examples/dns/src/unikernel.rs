//! The appliance, generic over its devices: zones from any [`KvRo`],
//! served on any [`Stack`], timed by any [`Time`].

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::{Either, select};
use mirage_core::{Key, KvRo, Stack, Time};
use mirage_dns::server::{ServeError, ServeOptions, ZoneSet, Zones, serve};
use mirage_dns::zone::{LoadError, load_zones};

/// What the appliance is told at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Where to serve (UDP and TCP).
    pub addr: SocketAddr,
    /// How often to re-read the zones and swap them in; `None` for never.
    pub reload: Option<Duration>,
    /// Server limits.
    pub serve: ServeOptions,
}

/// Why the appliance stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The zones could not be loaded at boot.
    #[error("loading zones: {0}")]
    Load(#[from] LoadError),
    /// The store holds no `*.zone` file.
    #[error("no zone files (NAME.zone) in the store")]
    NoZones,
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Loads every `ORIGIN.zone` file at the root of `store` and serves them
/// authoritatively. With `config.reload`, the store is read again at that
/// interval and a zone set that loads cleanly replaces the old one
/// atomically; one that does not is logged and ignored.
pub async fn start<S: Stack, T: Time, K: KvRo>(
    stack: S,
    time: T,
    store: K,
    config: Config,
) -> Result<(), Error> {
    let root = Key::default();
    let loaded = load_zones(&store, &root).await?;
    if loaded.is_empty() {
        return Err(Error::NoZones);
    }
    for z in &loaded {
        log::info!(
            "serving {} ({} records, serial {})",
            z.origin(),
            z.records().len(),
            z.soa().serial
        );
    }
    let zones = Zones::new(ZoneSet::new(loaded));
    let server = std::pin::pin!(serve(
        &stack,
        &time,
        config.addr,
        zones.clone(),
        config.serve
    ));
    let Some(every) = config.reload else {
        return Ok(server.await?);
    };
    let reloader = std::pin::pin!(async {
        loop {
            time.sleep(every).await;
            match load_zones(&store, &root).await {
                Ok(z) if zones.current().holds(&z) => {}
                Ok(z) if !z.is_empty() => {
                    for zone in &z {
                        log::info!("reloaded {} (serial {})", zone.origin(), zone.soa().serial);
                    }
                    zones.swap(ZoneSet::new(z));
                }
                Ok(_) => log::warn!("reload found no zone files; keeping the old zones"),
                Err(e) => log::warn!("reload failed, keeping the old zones: {e}"),
            }
        }
    });
    match select(server, reloader).await {
        Either::Left((r, _)) => Ok(r?),
        Either::Right(((), _)) => Ok(()),
    }
}
