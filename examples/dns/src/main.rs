//! The Unix main: parse the options, apply the appliance to the host's
//! devices. The zones come from the key-value store named `zones`
//! (`--kv zones=dir-ro:/path/to/zones`).

use std::net::IpAddr;
use std::time::Duration;

use dns::unikernel::{Config, start};
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

fn main() -> std::process::ExitCode {
    mirage_unix::run_with(|devices: Devices<Args>| async move {
        let a = devices.args().clone();
        let store = devices.kv("zones")?;
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
