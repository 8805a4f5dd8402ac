//! The Unix main: parse the options, read the zone directory, apply the
//! appliance to the host's devices.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dns::unikernel::{Config, start};
use mirage_core::mem::MemKv;
use mirage_core::{Bytes, Key, KvRw, WallClock};
use mirage_dns::server::{Options, ServeOptions, TcpOptions};
use mirage_unix::{BoxError, Devices};

#[derive(Clone, clap::Args)]
struct Args {
    /// The address to serve on (UDP and TCP).
    #[arg(long, default_value = "0.0.0.0")]
    address: IpAddr,
    /// The port to serve on.
    #[arg(long, default_value_t = 53)]
    port: u16,
    /// A directory of zone files named ORIGIN.zone (plus files they $INCLUDE).
    #[arg(long, value_name = "DIR")]
    zones: PathBuf,
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
}

/// Copies the regular files of `dir` into an in-memory store.
async fn read_dir(dir: &Path, clock: impl WallClock + 'static) -> Result<MemKv, BoxError> {
    let kv = MemKv::new(clock);
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| format!("{n:?}: not a UTF-8 file name"))?;
        let key = Key::parse(&name)?;
        kv.set(&key, Bytes::from(std::fs::read(entry.path())?))
            .await?;
    }
    Ok(kv)
}

fn main() -> std::process::ExitCode {
    mirage_unix::run_with(|devices: Devices<Args>| async move {
        let a = devices.args().clone();
        let store = read_dir(&a.zones, devices.clock()).await?;
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
        };
        start(devices.stack(), devices.clock(), store, config)
            .await
            .map_err(BoxError::from)
    })
}
