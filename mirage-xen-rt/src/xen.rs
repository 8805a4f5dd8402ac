//! The Xen side of the runtime: hypercall page, `shared_info`, event
//! channel upcalls on an IDT vector, the timer VIRQ, the clock device and
//! the idle loop that blocks the vCPU.

use alloc::rc::Rc;
use core::cell::RefCell;
use core::mem::offset_of;

use mirage_core::time::{Instant, MonotonicClock, PosixTime, Time, WallClock};
use mirage_xen::Hypervisor;
use mirage_xen::abi::hvm::HVM_PARAM_CALLBACK_IRQ;
use mirage_xen::abi::xen::{SharedInfo, VcpuInfo};
use mirage_xen::evtchn::EventChannels;
use mirage_xen::hypercall::HypercallError;
use mirage_xen::hypercall::x86_64::{XenHypervisor, install_hypercall_page};
use mirage_xen::page::Page;

use crate::arch::{self, cpu::rdtsc, idt};
use crate::clock;
use crate::executor::{Idle, Timers};
use crate::hypercall::{HVM_PARAM_CALLBACK_TYPE_VECTOR, Hypercalls, VIRQ_TIMER};

/// Why the Xen runtime could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XenSetupError {
    /// CPUID shows no Xen, or Xen without the hypercall-page leaf.
    #[error("no Xen hypercall interface found through CPUID")]
    NoXen,
    /// A setup hypercall failed.
    #[error("{what}: {source}")]
    Hypercall {
        /// The step that failed.
        what: &'static str,
        /// The hypervisor's answer.
        source: HypercallError,
    },
}

fn step<T>(what: &'static str, r: Result<T, HypercallError>) -> Result<T, XenSetupError> {
    r.map_err(|source| XenSetupError::Hypercall { what, source })
}

/// The running guest's connection to Xen: hypercalls, event channels over
/// the mapped `shared_info`, and the timer port.
pub struct XenRuntime {
    hv: Rc<XenHypervisor>,
    calls: Hypercalls,
    events: Rc<EventChannels<XenHypervisor>>,
    /// Whose wakers an upcall serves: `events` until the PV layer connects
    /// with its own `EventChannels` (over the same `shared_info` page).
    dispatcher: RefCell<Rc<EventChannels<XenHypervisor>>>,
    timer_port: u32,
    version: (u16, u16),
    _hypercall_page: Page,
}

impl core::fmt::Debug for XenRuntime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XenRuntime")
            .field("version", &self.version)
            .field("timer_port", &self.timer_port)
            .finish()
    }
}

impl XenRuntime {
    /// Installs the hypercall page, maps `shared_info`, routes event-channel
    /// upcalls to [`idt::UPCALL_VECTOR`], binds the timer VIRQ and stops the
    /// periodic tick.
    pub fn start() -> Result<XenRuntime, XenSetupError> {
        let page = Page::new();
        // SAFETY: ring 0, identity-mapped, and the page is kept in the
        // returned runtime for the life of the guest.
        let hv = unsafe { install_hypercall_page(&page) }.ok_or(XenSetupError::NoXen)?;
        crate::boot::set_hypercall_page(page.address());
        // SAFETY: the page was just installed as the hypercall page.
        let calls = unsafe { Hypercalls::new(page.address()) };
        let version = calls.xen_version();
        let hv = Rc::new(hv);
        let events = Rc::new(step("mapping shared_info", EventChannels::new(hv.clone()))?);
        let shared = events.shared_info();
        let upcall =
            offset_of!(SharedInfo, vcpu_info) + offset_of!(VcpuInfo, evtchn_upcall_pending);
        arch::set_upcall_pending_byte((shared.address() + upcall) as *mut u8);
        idt::install(idt::UPCALL_VECTOR, arch::upcall_entry());
        step(
            "HVM_PARAM_CALLBACK_IRQ",
            calls.hvm_set_param(
                HVM_PARAM_CALLBACK_IRQ,
                (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | u64::from(idt::UPCALL_VECTOR),
            ),
        )?;
        let timer_port = step("binding VIRQ_TIMER", calls.bind_virq(VIRQ_TIMER))?;
        step("unmasking the timer port", hv.evtchn_unmask(timer_port))?;
        // Some Xen versions start HVM vCPUs with a periodic tick; deadlines suffice.
        let _ = calls.stop_periodic_timer();
        #[cfg(feature = "std")]
        crate::libc::install_clock(&events);
        Ok(XenRuntime {
            hv,
            calls,
            dispatcher: RefCell::new(events.clone()),
            events,
            timer_port,
            version,
            _hypercall_page: page,
        })
    }

    /// Xen's version (major, minor) from `XENVER_version`.
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// The event-channel port of the timer VIRQ.
    pub fn timer_port(&self) -> u32 {
        self.timer_port
    }

    /// The hypervisor handle the PV frontends use.
    pub fn hypervisor(&self) -> &Rc<XenHypervisor> {
        &self.hv
    }

    /// Event channels (shared with the frontends).
    pub fn events(&self) -> &Rc<EventChannels<XenHypervisor>> {
        &self.events
    }

    /// Makes upcalls wake the tasks registered with `events` (the PV
    /// device layer's event channels, over the same `shared_info`).
    pub fn dispatch_to(&self, events: Rc<EventChannels<XenHypervisor>>) {
        *self.dispatcher.borrow_mut() = events;
    }

    /// Raw hypercalls.
    pub fn hypercalls(&self) -> Hypercalls {
        self.calls
    }

    /// Nanoseconds since the domain booted, from the pvclock.
    pub fn now(&self) -> Instant {
        clock::system_time(self.events.shared_info(), rdtsc())
    }
}

impl MonotonicClock for XenRuntime {
    fn now(&self) -> Instant {
        XenRuntime::now(self)
    }
}

impl Idle for XenRuntime {
    /// Arms the single-shot timer for `deadline`, then halts (Xen turns
    /// `hlt` with interrupts on into `SCHEDOP_block`) unless an upcall is
    /// already pending, and finally dispatches pending ports to their wakers.
    fn idle_until(&self, deadline: Instant) {
        if deadline != Instant::MAX {
            // A failure leaves only event wake-ups; nothing better to do here.
            let _ = self.calls.set_singleshot_timer(deadline.as_nanos());
        }
        arch::cli();
        let shared = self.events.shared_info();
        let upcall =
            offset_of!(SharedInfo, vcpu_info) + offset_of!(VcpuInfo, evtchn_upcall_pending);
        if shared.read_u8(upcall) == 0 && self.now() < deadline {
            arch::halt();
        }
        let dispatcher = self.dispatcher.borrow().clone();
        dispatcher.handle_upcall();
    }
}

/// The clock device: pvclock time, Xen wall clock and timers through the
/// executor's [`Timers`].
#[derive(Clone)]
pub struct XenClock {
    rt: Rc<XenRuntime>,
    timers: Rc<Timers>,
}

impl core::fmt::Debug for XenClock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XenClock")
            .field("now", &self.rt.now())
            .finish()
    }
}

impl XenClock {
    /// A clock over `rt` whose sleeps are timers in `timers`.
    pub fn new(rt: Rc<XenRuntime>, timers: Rc<Timers>) -> XenClock {
        XenClock { rt, timers }
    }
}

impl MonotonicClock for XenClock {
    fn now(&self) -> Instant {
        self.rt.now()
    }
}

impl WallClock for XenClock {
    fn now_posix(&self) -> PosixTime {
        clock::wall_time(self.rt.events.shared_info(), self.rt.now())
    }
}

impl Time for XenClock {
    async fn sleep_until(&self, deadline: Instant) {
        self.timers.sleep_until(self, deadline).await
    }
}
