//! `xen-hello`: the unikernel in [`unikernel`] applied to Unix devices (the
//! default) or, with the `xen` feature, built as a PVH guest image by
//! `xen/build-image.sh xen-hello`.

#![cfg_attr(feature = "xen", no_std, no_main)]

extern crate alloc;

mod unikernel;

#[cfg(feature = "xen")]
mirage_xen_rt::entry!(xen_main);

/// The Xen `main`: connects to XenStore and prints the domain's name (a
/// check of the grant table, event channels and XenStore ring), greets on
/// the Xen PV console (which xenconsoled logs in dom0), applies the
/// same `start` to the runtime's devices, and then, when the command line
/// has `ipv4=`, brings up netfront with our TCP/IP stack, serves a page
/// over HTTP on port 80 and echoes UDP on port 7 until a `quit` datagram.
#[cfg(feature = "xen")]
fn xen_main(boot: mirage_xen_rt::Boot) -> ! {
    mirage_xen_rt::run(boot, |devices| async move {
        use mirage_core::console::Console;
        use mirage_xen_rt::mirage_xen::XenConsole;
        use xen::Error;
        let xen = devices.xen().map_err(Error::Connect)?;
        let store = xen.store();
        let name = store.read_string("name").await.map_err(Error::Store)?;
        let domid = store.read_string("domid").await.map_err(Error::Store)?;
        mirage_xen_rt::println!("xen-hello: xenstore says name={name} domid={domid}");
        let pv_console = XenConsole::connect(&xen).map_err(Error::Connect)?;
        pv_console
            .write_line("xen-hello: hello on the Xen PV console")
            .await
            .map_err(Error::Console)?;
        let console = devices.console();
        unikernel::start(console, devices.clock())
            .await
            .map_err(Error::Console)?;
        if let Some(config) = xen::net_config(devices.cmdline())? {
            xen::serve(&devices, &xen, config).await?;
        }
        Ok::<(), Error>(())
    })
}

#[cfg(feature = "xen")]
mod xen {
    use core::fmt;
    use core::net::Ipv4Addr;
    use core::pin::pin;
    use core::time::Duration;

    use futures::future::{Either, select};
    use mirage_core::console::ConsoleError;
    use mirage_core::network::Network;
    use mirage_core::stack::StackError;
    use mirage_core::time::timeout;
    use mirage_net::{Config, ConfigError, Stack};
    use mirage_xen_rt::Devices;
    use mirage_xen_rt::mirage_xen::guest::{ConnectError, Xen};
    use mirage_xen_rt::mirage_xen::hypercall::x86_64::XenHypervisor;
    use mirage_xen_rt::mirage_xen::netfront::{Netfront, NetfrontError, NetfrontOptions};
    use mirage_xen_rt::mirage_xen::xenstore::XsError;
    use mirage_xen_rt::println;

    use crate::unikernel::{EchoError, http_hello, udp_echo};

    /// How long netfront may wait for its backend.
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Why the Xen guest failed.
    #[derive(Debug)]
    pub enum Error {
        /// Connecting to XenStore or the grant table failed.
        Connect(ConnectError),
        /// A XenStore read failed.
        Store(XsError),
        /// Writing to the console failed.
        Console(ConsoleError),
        /// A boot parameter is malformed.
        Cmdline(&'static str),
        /// netfront did not connect.
        Netfront(NetfrontError),
        /// The backend did not answer within [`CONNECT_TIMEOUT`].
        NetfrontTimeout,
        /// The stack refused the configuration.
        Net(ConfigError),
        /// The UDP echo failed.
        Echo(EchoError),
        /// The HTTP listener failed.
        Http(StackError),
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Error::Connect(e) => write!(f, "connecting to Xen: {e}"),
                Error::Store(e) => write!(f, "XenStore: {e}"),
                Error::Console(e) => write!(f, "console: {e}"),
                Error::Cmdline(what) => write!(f, "bad boot parameter: {what}"),
                Error::Netfront(e) => write!(f, "netfront: {e}"),
                Error::NetfrontTimeout => {
                    write!(f, "netfront: no backend within {CONNECT_TIMEOUT:?}")
                }
                Error::Net(e) => write!(f, "network configuration: {e}"),
                Error::Echo(e) => write!(f, "{e}"),
                Error::Http(e) => write!(f, "HTTP: {e}"),
            }
        }
    }

    /// The static IPv4 configuration from `ipv4=ADDR/LEN` and `gateway=ADDR`
    /// on the command line, `None` without `ipv4=`.
    pub fn net_config(cmdline: &str) -> Result<Option<Config>, Error> {
        let mut ipv4 = None;
        let mut gateway = None;
        for word in cmdline.split_whitespace() {
            if let Some(v) = word.strip_prefix("ipv4=") {
                let (addr, len) = v
                    .split_once('/')
                    .ok_or(Error::Cmdline("ipv4= needs ADDR/LEN"))?;
                let addr: Ipv4Addr = addr.parse().map_err(|_| Error::Cmdline("ipv4= address"))?;
                let len: u8 = len
                    .parse()
                    .map_err(|_| Error::Cmdline("ipv4= prefix length"))?;
                ipv4 = Some((addr, len));
            } else if let Some(v) = word.strip_prefix("gateway=") {
                gateway = Some(v.parse().map_err(|_| Error::Cmdline("gateway= address"))?);
            }
        }
        Ok(ipv4.map(|(addr, len)| Config::ipv4_static(addr, len, gateway)))
    }

    /// netfront `vif/0` under our stack, serving HTTP on port 80 and the
    /// UDP echo on port 7 until the echo receives `quit`.
    pub async fn serve(
        devices: &Devices,
        xen: &Xen<XenHypervisor>,
        config: Config,
    ) -> Result<(), Error> {
        let clock = devices.clock();
        let nic = timeout(
            &clock,
            CONNECT_TIMEOUT,
            Netfront::connect(xen, 0, NetfrontOptions::default()),
        )
        .await
        .map_err(|_| Error::NetfrontTimeout)?
        .map_err(Error::Netfront)?;
        println!(
            "xen-hello: netfront connected, mac {}, mtu {}",
            nic.mac_address(),
            nic.capabilities().mtu
        );
        let (stack, runner) =
            Stack::new(nic, clock, devices.random(), config).map_err(Error::Net)?;
        if let Some(ip) = stack.ipv4() {
            println!("xen-hello: IPv4 {ip:?}");
        }
        let console = devices.console();
        let echo = pin!(udp_echo(&stack, &console, 7));
        let http = pin!(http_hello(&stack, 80));
        match select(pin!(runner.run()), select(echo, http)).await {
            Either::Left((never, _)) => never,
            Either::Right((Either::Left((echoed, _)), _)) => echoed.map(drop).map_err(Error::Echo),
            Either::Right((Either::Right((served, _)), _)) => served.map_err(Error::Http),
        }
    }
}

/// The Unix `main`.
#[cfg(all(feature = "unix", not(feature = "xen")))]
fn main() -> std::process::ExitCode {
    mirage_unix::run(|devices| unikernel::start(devices.console(), devices.clock()))
}

#[cfg(not(any(feature = "unix", feature = "xen")))]
compile_error!("enable the `unix` feature (a process) or the `xen` feature (a PVH image)");
