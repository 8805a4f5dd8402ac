//! [`run`]: the Xen counterpart of `mirage_unix::run`. Starts the Xen
//! runtime, builds the devices and drives the application's future to
//! completion, then powers the domain off (or crashes it on error).

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::OnceCell;
use core::fmt::Display;
use core::future::Future;

use mirage_xen::guest::{ConnectError, DEFAULT_GRANT_FRAMES, Xen};
use mirage_xen::hypercall::x86_64::XenHypervisor;

use core::pin::pin;
use core::time::Duration;

use futures::future::{Either, select};
use mirage_core::network::Network;
use mirage_core::time::timeout;
use mirage_xen::netfront::{Netfront, NetfrontError, NetfrontOptions};
use mirage_xen::{Blkfront, BlkfrontError, XenConsole};

use crate::boot::{Boot, crash, poweroff, reboot};
use crate::control::{ShutdownRequest, shutdown_requested};
use crate::debugcon::DebugConsole;
use crate::executor::{Timers, block_on};
use crate::params::{BootParams, ParamError};
use crate::println;
use crate::random::CpuRandom;
use crate::xen::{XenClock, XenRuntime};

/// The devices handed to the application.
#[derive(Debug)]
pub struct Devices {
    clock: XenClock,
    console: DebugConsole,
    cmdline: String,
    runtime: Rc<XenRuntime>,
    xen: OnceCell<Xen<XenHypervisor>>,
    params: BootParams,
    stack: OnceCell<mirage_net::Stack>,
}

/// How long netfront may wait for its backend at boot.
pub const NETFRONT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`run`] waits for a DHCP lease (`ipv4=dhcp`) before it gives up.
pub const DHCP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long [`Devices::block`] waits for a disk's backend.
pub const BACKEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a device asked for through [`Devices`] is not available.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// Connecting to XenStore or the grant table failed.
    #[error("connecting to Xen: {0}")]
    Connect(#[from] ConnectError),
    /// The blkfront handshake failed (no such disk, a broken backend).
    #[error("blkfront: {0}")]
    Blkfront(#[from] BlkfrontError),
    /// The backend did not answer within [`BACKEND_TIMEOUT`].
    #[error("no backend within {BACKEND_TIMEOUT:?}")]
    Timeout,
}

/// Why the network could not be set up at boot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetSetupError {
    /// A boot parameter is malformed.
    #[error("boot parameters: {0}")]
    Params(#[from] ParamError),
    /// Connecting to XenStore or the grant table failed.
    #[error("connecting to Xen: {0}")]
    Connect(#[from] ConnectError),
    /// netfront `vif/0` did not connect.
    #[error("netfront: {0}")]
    Netfront(#[from] NetfrontError),
    /// netfront's backend did not answer within [`NETFRONT_TIMEOUT`].
    #[error("netfront: no backend within {NETFRONT_TIMEOUT:?}")]
    NetfrontTimeout,
    /// The stack refused the configuration.
    #[error("network configuration: {0}")]
    Config(#[from] mirage_net::ConfigError),
}

impl Devices {
    /// Monotonic and wall clock with timers.
    pub fn clock(&self) -> XenClock {
        self.clock.clone()
    }

    /// Random bytes (`RDRAND` when the CPU has it).
    pub fn random(&self) -> CpuRandom {
        CpuRandom::new()
    }

    /// The console (port 0xE9, shown by Xen as `(dN)` lines).
    pub fn console(&self) -> DebugConsole {
        self.console
    }

    /// The boot command line (`extra=` in the xl config).
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// The Xen runtime, for PV frontends.
    pub fn runtime(&self) -> &Rc<XenRuntime> {
        &self.runtime
    }

    /// The boot parameters the runtime read from the command line.
    pub fn params(&self) -> &BootParams {
        &self.params
    }

    /// Our TCP/IP stack (mirage-net) on netfront `vif/0`, configured from
    /// `ipv4=`/`gateway=` (with `ipv4=dhcp`, already holding its lease when
    /// the application starts); `None` when the command line has no `ipv4=`.
    /// [`run`] drives it alongside the application.
    pub fn stack(&self) -> Option<mirage_net::Stack> {
        self.stack.get().cloned()
    }

    /// The disk `device/vbd/<id>` (a `disk = [...]` entry in the xl
    /// configuration) through blkfront, as a mirage-core `Block`. Waits for
    /// the backend at most [`BACKEND_TIMEOUT`].
    pub async fn block(&self, id: u32) -> Result<Blkfront<XenHypervisor>, DeviceError> {
        let xen = self.xen()?;
        match timeout(&self.clock, BACKEND_TIMEOUT, Blkfront::connect(&xen, id)).await {
            Ok(disk) => Ok(disk?),
            Err(_) => Err(DeviceError::Timeout),
        }
    }

    /// The Xen PV console (what `xl console` and xenconsoled's logs show),
    /// as a mirage-core `Console`.
    pub fn pv_console(&self) -> Result<XenConsole<XenHypervisor>, ConnectError> {
        XenConsole::connect(&self.xen()?)
    }

    /// Connects the PV device layer: grant table and XenStore (sharing this
    /// runtime's `shared_info` and event channels' page), from which the
    /// frontends (netfront, blkfront, console) are built.
    /// Connected on first use; later calls share the connection.
    pub fn xen(&self) -> Result<Xen<XenHypervisor>, ConnectError> {
        if let Some(xen) = self.xen.get() {
            return Ok(xen.clone());
        }
        let xen = Xen::connect((**self.runtime.hypervisor()).clone(), DEFAULT_GRANT_FRAMES)?;
        self.runtime.dispatch_to(xen.events().clone());
        Ok(self.xen.get_or_init(|| xen).clone())
    }
}

/// Runs `start(devices)` under Xen and ends the domain with its result.
/// With `ipv4=ADDR/LEN` (and optionally `gateway=ADDR`) on the command line
/// it first connects netfront `vif/0` under mirage-net, offers the stack as
/// [`Devices::stack`] and drives it alongside the application. Ends with
/// `poweroff` on `Ok`, `crash` after printing the error otherwise. Without
/// Xen (plain QEMU) it prints `no Xen` and exits through the QEMU debug-exit
/// port.
pub fn run<F, Fut, E>(boot: Boot, start: F) -> !
where
    F: FnOnce(Devices) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let Some(cpuid) = boot.xen else {
        println!("mirage-xen-rt: no Xen (CPUID 0x40000000 has no XenVMMXenVMM signature)");
        poweroff()
    };
    let rt = match XenRuntime::start() {
        Ok(rt) => Rc::new(rt),
        Err(e) => {
            println!("mirage-xen-rt: Xen setup failed: {e}");
            crash()
        }
    };
    let (major, minor) = rt.version();
    println!(
        "mirage-xen-rt: Xen {major}.{minor} (CPUID base {:#x}), timer VIRQ on port {}, Xen system time {} us",
        cpuid.base,
        rt.timer_port(),
        rt.now().as_micros()
    );
    let params = match BootParams::parse(boot.info.cmdline()) {
        Ok(p) => p,
        Err(e) => {
            println!("mirage-xen-rt: bad boot parameters: {e}");
            crash()
        }
    };
    let net_config = params.net_config();
    let dhcp = params.dhcp;
    let timers = Rc::new(Timers::new());
    let devices = Devices {
        clock: XenClock::new(rt.clone(), timers.clone()),
        console: DebugConsole,
        cmdline: String::from(boot.info.cmdline()),
        runtime: rt.clone(),
        xen: OnceCell::new(),
        params,
        stack: OnceCell::new(),
    };
    let app = async move {
        // `xl shutdown`/`xl reboot` end the application from outside.
        let xen = devices.xen();
        let control = async {
            match &xen {
                Ok(xen) => {
                    let ignored =
                        |v: &str| println!("mirage-xen-rt: ignoring shutdown request {v:?}");
                    match shutdown_requested(xen, ignored).await {
                        Ok(request) => return request,
                        Err(e) => println!("mirage-xen-rt: no shutdown requests: XenStore: {e}"),
                    }
                }
                Err(e) => println!("mirage-xen-rt: no shutdown requests: {e}"),
            }
            futures::future::pending().await
        };
        let runner = match net_config {
            None => None,
            Some(config) => match connect_net(&devices, config).await {
                Ok((stack, runner)) => {
                    let _ = devices.stack.set(stack);
                    Some(runner)
                }
                Err(e) => {
                    println!("mirage-xen-rt: network setup failed: {e}");
                    crash()
                }
            },
        };
        let lease = match (dhcp, devices.stack()) {
            (true, Some(stack)) => Some((stack, devices.clock())),
            _ => None,
        };
        let app = pin!(async move {
            // With `ipv4=dhcp` the application starts once the stack has
            // a lease, so it can bind to its address.
            if let Some((stack, clock)) = lease {
                println!("mirage-xen-rt: asking for a DHCP lease");
                match timeout(&clock, DHCP_TIMEOUT, stack.wait_ipv4()).await {
                    Ok(ip) => println!(
                        "mirage-xen-rt: IPv4 {}/{} from DHCP, gateway {:?}, DNS {:?}",
                        ip.address, ip.prefix_len, ip.gateway, ip.dns_servers
                    ),
                    Err(_) => {
                        println!("mirage-xen-rt: no DHCP lease within {DHCP_TIMEOUT:?}");
                        crash()
                    }
                }
            }
            start(devices).await
        });
        let finished = async {
            match runner {
                None => app.await,
                Some(runner) => match select(pin!(runner.run()), app).await {
                    Either::Left((never, _)) => never,
                    Either::Right((out, _)) => out,
                },
            }
        };
        match select(pin!(finished), pin!(control)).await {
            Either::Left((out, _)) => Ok(out),
            Either::Right((request, _)) => Err(request),
        }
    };
    match block_on(app, &*rt, &timers) {
        Err(ShutdownRequest::Poweroff) => {
            println!("mirage-xen-rt: shutdown requested by the toolstack, powering off");
            poweroff()
        }
        Err(ShutdownRequest::Reboot) => {
            println!("mirage-xen-rt: reboot requested by the toolstack");
            reboot()
        }
        Ok(Ok(())) => {
            println!("mirage-xen-rt: application finished, powering off");
            poweroff()
        }
        Ok(Err(e)) => {
            println!("mirage-xen-rt: application failed: {e}");
            crash()
        }
    }
}

type NetRunner = mirage_net::Runner<Netfront<XenHypervisor>, XenClock>;

/// Connects netfront `vif/0` and puts our stack on it.
async fn connect_net(
    devices: &Devices,
    config: mirage_net::Config,
) -> Result<(mirage_net::Stack, NetRunner), NetSetupError> {
    let xen = devices.xen()?;
    let nic = timeout(
        &devices.clock,
        NETFRONT_TIMEOUT,
        Netfront::connect(&xen, 0, NetfrontOptions::default()),
    )
    .await
    .map_err(|_| NetSetupError::NetfrontTimeout)??;
    println!(
        "mirage-xen-rt: netfront vif/0 connected, mac {}, mtu {}",
        nic.mac_address(),
        nic.capabilities().mtu
    );
    let (stack, runner) = mirage_net::Stack::new(nic, devices.clock(), devices.random(), config)?;
    if let Some(ip) = stack.ipv4() {
        println!("mirage-xen-rt: IPv4 {}/{}", ip.address, ip.prefix_len);
    }
    Ok((stack, runner))
}
