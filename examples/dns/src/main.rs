//! The Unix main: parse the options, apply the appliance to the host's
//! devices. The zones come from the key-value store named `zones`
//! (`--kv zones=dir-ro:/path/to/zones`).

use std::net::IpAddr;
use std::time::Duration;

use dns::unikernel::{Config, start};
use mirage_dns::server::{
    Options, Policy, PrimaryOptions, SecondaryOptions, SecondaryZone, ServeOptions, TcpOptions,
    ZonePolicy,
};
use mirage_dns::tsig::{Key, Keyring};
use mirage_dns::wire::Name;
use mirage_unix::{BoxError, Devices};

#[derive(Clone, clap::Args)]
struct Args {
    /// The address to serve on (UDP and TCP).
    #[arg(long, default_value = "0.0.0.0")]
    address: IpAddr,
    /// The port to serve on.
    #[arg(long, default_value_t = 53)]
    port: u16,
    /// Re-read the zones every SECS seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    reload: u64,
    /// Largest UDP response, also advertised in EDNS.
    #[arg(long, default_value_t = 1232)]
    max_udp_payload: u16,
    /// Seconds a TCP connection may idle.
    #[arg(long, default_value_t = 10)]
    tcp_idle_timeout: u64,
    /// Most TCP connections served at once.
    #[arg(long, default_value_t = 256)]
    max_tcp_connections: usize,
    /// A TSIG key, `[ALGORITHM:]NAME:BASE64SECRET` as `dig -y` takes it (repeatable).
    #[arg(long = "tsig-key", value_name = "KEY")]
    tsig_keys: Vec<String>,
    /// A file of BIND `key` clauses to read TSIG keys from.
    #[arg(long, value_name = "PATH")]
    tsig_key_file: Option<std::path::PathBuf>,
    /// Who may AXFR/IXFR: `key:NAME` or `ADDRESS[/PREFIX]`, for every
    /// zone, or `ORIGIN=WHO` for one zone (repeatable).
    #[arg(long, value_name = "WHO")]
    allow_transfer: Vec<String>,
    /// Which key may send dynamic updates: `key:NAME`, or
    /// `ORIGIN=key:NAME` for one zone (repeatable).
    #[arg(long, value_name = "WHO")]
    allow_update: Vec<String>,
    /// A secondary to send NOTIFY to when a serial changes, `ADDRESS:PORT`,
    /// or `ORIGIN=ADDRESS:PORT` for one zone (repeatable).
    #[arg(long, value_name = "ADDR")]
    notify: Vec<String>,
    /// The key that signs our NOTIFYs.
    #[arg(long, value_name = "NAME")]
    notify_key: Option<String>,
    /// Write zones changed by UPDATE back to the `zones` store.
    #[arg(long)]
    write_back: bool,
    /// A zone to copy from a primary, `ORIGIN@ADDRESS:PORT[/KEYNAME]`, the
    /// key (from `--tsig-key`) signing our SOA queries and transfers (repeatable).
    #[arg(long, value_name = "ZONE")]
    secondary: Vec<String>,
    /// Who may NOTIFY us of a new serial of a copied zone: `key:NAME` or
    /// `ADDRESS[/PREFIX]`, or `ORIGIN=WHO` for one zone (repeatable).
    #[arg(long, value_name = "WHO")]
    allow_notify: Vec<String>,
    /// Zone versions kept for IXFR.
    #[arg(long, default_value_t = 16)]
    ixfr_history: usize,
}

/// Which rule of a zone a command-line entry adds to.
#[derive(Clone, Copy)]
enum Field {
    Transfer,
    Update,
    NotifyFrom,
    Notify,
}

fn add(zone: &mut ZonePolicy, field: Field, entry: &str) -> Result<(), BoxError> {
    match field {
        Field::Transfer => zone.transfer.add(entry)?,
        Field::Update => zone.update.add(entry)?,
        Field::NotifyFrom => zone.notify_from.add(entry)?,
        Field::Notify => zone.notify.push(entry.parse()?),
    }
    Ok(())
}

/// The primary's rules from the command line; `None` when no option asks for one.
fn primary(a: &Args) -> Result<Option<PrimaryOptions>, BoxError> {
    if a.tsig_keys.is_empty()
        && a.tsig_key_file.is_none()
        && a.allow_transfer.is_empty()
        && a.allow_update.is_empty()
        && a.notify.is_empty()
        && a.secondary.is_empty()
    {
        return Ok(None);
    }
    let mut keys = match &a.tsig_key_file {
        Some(path) => Keyring::parse_bind(&std::fs::read_to_string(path)?)?,
        None => Keyring::new(),
    };
    for k in &a.tsig_keys {
        keys.insert(Key::parse_triple(k)?)?;
    }
    let mut policy = Policy {
        keys,
        ..Policy::default()
    };
    policy.default.notify_key = a.notify_key.as_deref().map(str::parse).transpose()?;
    // Entries for every zone first; a zone named in an entry of its own
    // starts from those and adds its own.
    let lists: [(&[String], Field); 4] = [
        (&a.allow_transfer, Field::Transfer),
        (&a.allow_update, Field::Update),
        (&a.allow_notify, Field::NotifyFrom),
        (&a.notify, Field::Notify),
    ];
    for (entries, field) in lists {
        for entry in entries.iter().filter(|e| !e.contains('=')) {
            add(&mut policy.default, field, entry)?;
        }
    }
    for (entries, field) in lists {
        for entry in entries {
            if let Some((origin, rest)) = entry.split_once('=') {
                let origin: Name = origin.parse()?;
                let zone = policy
                    .zones
                    .entry(origin)
                    .or_insert_with(|| policy.default.clone());
                add(zone, field, rest)?;
            }
        }
    }
    let mut secondary = SecondaryOptions::default();
    for spec in &a.secondary {
        let bad = || format!("--secondary {spec:?} is not ORIGIN@ADDRESS:PORT[/KEYNAME]");
        let (origin, rest) = spec.split_once('@').ok_or_else(bad)?;
        let (addr, key) = match rest.split_once('/') {
            Some((addr, key)) => (addr, Some(key)),
            None => (rest, None),
        };
        let key = match key {
            Some(k) => Some(
                policy
                    .keys
                    .get(&k.parse()?)
                    .cloned()
                    .ok_or_else(|| format!("unknown key {k}"))?,
            ),
            None => None,
        };
        secondary.zones.push(SecondaryZone {
            origin: origin.parse()?,
            primary: addr.parse()?,
            key,
        });
    }
    Ok(Some(PrimaryOptions {
        policy,
        history_versions: a.ixfr_history,
        secondary,
        ..PrimaryOptions::default()
    }))
}

fn main() -> std::process::ExitCode {
    mirage_unix::run_with(|devices: Devices<Args>| async move {
        let a = devices.args().clone();
        let store = devices.kv("zones")?;
        let primary = primary(&a)?;
        let config = Config {
            addr: (a.address, a.port).into(),
            reload: (a.reload > 0).then(|| Duration::from_secs(a.reload)),
            serve: ServeOptions {
                responder: Options {
                    max_udp_payload: a.max_udp_payload,
                    ..Options::default()
                },
                tcp: TcpOptions {
                    idle_timeout: Duration::from_secs(a.tcp_idle_timeout),
                    max_connections: a.max_tcp_connections,
                },
            },
            primary,
            write_back: a.write_back,
        };
        start(devices.stack(), devices.clock(), store, config)
            .await
            .map_err(BoxError::from)
    })
}
