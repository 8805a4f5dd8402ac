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
/// the Xen PV console (which xenconsoled logs in dom0), applies the same
/// `start` to the runtime's devices, and then, when the runtime brought up
/// the network (`ipv4=` on the command line), serves a page over HTTP on
/// port 80 and echoes UDP on port 7 until a `quit` datagram.
#[cfg(feature = "xen")]
fn xen_main(boot: mirage_xen_rt::Boot) -> ! {
    mirage_xen_rt::run(boot, |devices| async move {
        use core::pin::pin;

        use futures::future::{Either, select};
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
        // Each disk in the xl configuration (`device/vbd/<id>`).
        for id in store.directory("device/vbd").await.unwrap_or_default() {
            let Ok(vbd) = id.parse::<u32>() else { continue };
            let disk = devices.block(vbd).await.map_err(Error::Device)?;
            unikernel::disk_check(&id, &disk, &console)
                .await
                .map_err(Error::Disk)?;
        }
        if let Some(stack) = devices.stack() {
            let echo = pin!(unikernel::udp_echo(&stack, &console, 7));
            let http = pin!(unikernel::http_hello(&stack, 80));
            match select(echo, http).await {
                Either::Left((echoed, _)) => echoed.map(drop).map_err(Error::Echo)?,
                Either::Right((served, _)) => served.map_err(Error::Http)?,
            }
        }
        Ok::<(), Error>(())
    })
}

#[cfg(feature = "xen")]
mod xen {
    use core::fmt;

    use mirage_core::console::ConsoleError;
    use mirage_core::stack::StackError;
    use mirage_xen_rt::mirage_xen::guest::ConnectError;
    use mirage_xen_rt::mirage_xen::xenstore::XsError;

    use crate::unikernel::{DiskError, EchoError};

    /// Why the Xen guest failed.
    #[derive(Debug)]
    pub enum Error {
        /// Connecting to XenStore or the grant table failed.
        Connect(ConnectError),
        /// A XenStore read failed.
        Store(XsError),
        /// Writing to the console failed.
        Console(ConsoleError),
        /// The UDP echo failed.
        Echo(EchoError),
        /// The HTTP listener failed.
        Http(StackError),
        /// A disk could not be connected.
        Device(mirage_xen_rt::DeviceError),
        /// The disk check failed.
        Disk(DiskError),
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Error::Connect(e) => write!(f, "connecting to Xen: {e}"),
                Error::Store(e) => write!(f, "XenStore: {e}"),
                Error::Console(e) => write!(f, "console: {e}"),
                Error::Echo(e) => write!(f, "{e}"),
                Error::Http(e) => write!(f, "HTTP: {e}"),
                Error::Device(e) => write!(f, "disk: {e}"),
                Error::Disk(e) => write!(f, "{e}"),
            }
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
