//! The appliance, generic over its devices: zones from any key-value
//! store, served on any [`Stack`], timed by any [`Time`] and [`WallClock`].

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::{Either, select};
use mirage_core::{Key, KvRw, Stack, Time, WallClock};
use mirage_dns::server::{
    PrimaryOptions, ServeError, ServeOptions, ZoneSet, Zones, serve, serve_primary,
};
use mirage_dns::zone::{LoadError, load_zones};

/// What the appliance is told at boot.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to serve (UDP and TCP).
    pub addr: SocketAddr,
    /// How often to re-read the zones and swap them in; `None` for never.
    pub reload: Option<Duration>,
    /// Server limits.
    pub serve: ServeOptions,
    /// Serve as a primary (TSIG, zone transfers, UPDATE, NOTIFY) under
    /// these rules; `None` answers queries only.
    pub primary: Option<PrimaryOptions>,
    /// Write zones changed by UPDATE back to the store as `ORIGIN.zone`.
    pub write_back: bool,
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
/// atomically; one that does not is logged and ignored. With
/// `config.primary` the zones are also transferred, updated and notified
/// as its policy says, and with `config.write_back` every update is
/// written to the store (with mirage-irmin's store, a Git commit).
pub async fn start<S: Stack, T: Time + WallClock, K: KvRw>(
    stack: S,
    time: T,
    store: K,
    config: Config,
) -> Result<(), Error> {
    let root = Key::default();
    let loaded = load_zones(&store, &root).await?;
    let copies = config
        .primary
        .as_ref()
        .is_some_and(|p| !p.secondary.zones.is_empty());
    if loaded.is_empty() && !copies {
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
    let server = std::pin::pin!(async {
        match config.primary.clone() {
            None => serve(&stack, &time, config.addr, zones.clone(), config.serve).await,
            Some(p) => {
                let store = config.write_back.then_some(&store);
                serve_primary(
                    &stack,
                    &time,
                    config.addr,
                    zones.clone(),
                    p,
                    config.serve,
                    store,
                )
                .await
            }
        }
    });
    let Some(every) = config.reload else {
        return Ok(server.await?);
    };
    let reloader = std::pin::pin!(async {
        loop {
            time.sleep(every).await;
            let loaded = load_zones(&store, &root).await;
            // Zones copied from other primaries are not in the store: keep them.
            let copied: Vec<_> = config
                .primary
                .iter()
                .flat_map(|p| &p.secondary.zones)
                .filter_map(|z| zones.current().get(&z.origin).cloned())
                .collect();
            match loaded {
                Ok(mut z) if !z.is_empty() || !copied.is_empty() => {
                    z.retain(|x| !copied.iter().any(|c| c.origin() == x.origin()));
                    z.extend(copied);
                    if zones.current().holds(&z) {
                        continue;
                    }
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
