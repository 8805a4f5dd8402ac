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

use crate::boot::{Boot, crash, poweroff};
use crate::debugcon::DebugConsole;
use crate::executor::{Timers, block_on};
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

/// Runs `start(devices)` under Xen and ends the domain with its result:
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
    let timers = Rc::new(Timers::new());
    let devices = Devices {
        clock: XenClock::new(rt.clone(), timers.clone()),
        console: DebugConsole,
        cmdline: String::from(boot.info.cmdline()),
        runtime: rt.clone(),
        xen: OnceCell::new(),
    };
    match block_on(start(devices), &*rt, &timers) {
        Ok(()) => {
            println!("mirage-xen-rt: application finished, powering off");
            poweroff()
        }
        Err(e) => {
            println!("mirage-xen-rt: application failed: {e}");
            crash()
        }
    }
}
