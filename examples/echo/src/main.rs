//! The Unix main: parse `--address`/`--port`, apply the appliance to the devices.
mod unikernel;

#[derive(Clone, clap::Args)]
struct Args {
    /// The address to echo on (TCP and UDP).
    #[arg(long, default_value = "0.0.0.0")]
    address: std::net::IpAddr,
    /// The port to echo on (TCP and UDP).
    #[arg(long, default_value_t = 7)]
    port: u16,
}

fn main() -> std::process::ExitCode {
    mirage_unix::run_with(|devices: mirage_unix::Devices<Args>| {
        let addr = (devices.args().address, devices.args().port).into();
        unikernel::start(devices.stack(), addr)
    })
}
