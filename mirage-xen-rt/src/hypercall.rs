//! Raw hypercalls through the hypercall page, for the operations the
//! runtime needs beyond `mirage_xen::Hypervisor`: VCPU timers, binding a
//! VIRQ, setting HVM parameters and asking for Xen's version.

use mirage_xen::abi::DOMID_SELF;
use mirage_xen::abi::hvm::{HVMOP_SET_PARAM, XenHvmParam};
use mirage_xen::abi::xen::{
    HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_HVM_OP, HYPERVISOR_SCHED_OP, HYPERVISOR_XEN_VERSION,
    SCHEDOP_SHUTDOWN, SchedShutdown,
};
use mirage_xen::hypercall::HypercallError;
use mirage_xen::hypercall::x86_64::hypercall3;

/// `__HYPERVISOR_vcpu_op`.
pub const HYPERVISOR_VCPU_OP: u32 = 24;
/// `VCPUOP_stop_periodic_timer`.
pub const VCPUOP_STOP_PERIODIC_TIMER: u32 = 7;
/// `VCPUOP_set_singleshot_timer`.
pub const VCPUOP_SET_SINGLESHOT_TIMER: u32 = 8;
/// `EVTCHNOP_bind_virq`.
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// `VIRQ_TIMER`: the per-vCPU timer (single-shot and periodic).
pub const VIRQ_TIMER: u32 = 0;
/// `HVM_PARAM_CALLBACK_IRQ` value type: deliver upcalls as an IDT vector.
pub const HVM_PARAM_CALLBACK_TYPE_VECTOR: u64 = 2;
/// `XENVER_version`.
pub const XENVER_VERSION: u32 = 0;

/// `struct vcpu_set_singleshot_timer`.
#[repr(C)]
struct SingleshotTimer {
    timeout_abs_ns: u64,
    flags: u32,
}

/// `struct evtchn_bind_virq`.
#[repr(C)]
struct BindVirq {
    virq: u32,
    vcpu: u32,
    port: u32,
}

/// Calls through an installed hypercall page.
#[derive(Debug, Clone, Copy)]
pub struct Hypercalls {
    page: usize,
}

impl Hypercalls {
    /// Hypercalls through the page at `page`.
    ///
    /// # Safety
    /// `page` must be a hypercall page Xen has filled for this domain.
    pub unsafe fn new(page: usize) -> Hypercalls {
        Hypercalls { page }
    }

    fn call3(&self, nr: u32, a1: u64, a2: u64, a3: u64) -> i64 {
        // SAFETY: the page was installed for this domain (constructor
        // contract); each caller passes the arguments its hypercall expects.
        unsafe { hypercall3(self.page, nr, a1, a2, a3) }
    }

    fn check(ret: i64) -> Result<i64, HypercallError> {
        if ret < 0 {
            Err(HypercallError::Errno(ret))
        } else {
            Ok(ret)
        }
    }

    /// Xen's version as (major, minor).
    pub fn xen_version(&self) -> (u16, u16) {
        let v = self.call3(HYPERVISOR_XEN_VERSION, u64::from(XENVER_VERSION), 0, 0);
        ((v >> 16) as u16, v as u16)
    }

    /// Fires `VIRQ_TIMER` on vCPU 0 once system time reaches `abs_ns`.
    pub fn set_singleshot_timer(&self, abs_ns: u64) -> Result<(), HypercallError> {
        let mut t = SingleshotTimer {
            timeout_abs_ns: abs_ns,
            flags: 0,
        };
        Self::check(self.call3(
            HYPERVISOR_VCPU_OP,
            u64::from(VCPUOP_SET_SINGLESHOT_TIMER),
            0,
            &raw mut t as u64,
        ))
        .map(drop)
    }

    /// Stops vCPU 0's periodic timer, so that only deadlines wake it.
    pub fn stop_periodic_timer(&self) -> Result<(), HypercallError> {
        Self::check(self.call3(
            HYPERVISOR_VCPU_OP,
            u64::from(VCPUOP_STOP_PERIODIC_TIMER),
            0,
            0,
        ))
        .map(drop)
    }

    /// Binds `virq` on vCPU 0 to a new event-channel port.
    pub fn bind_virq(&self, virq: u32) -> Result<u32, HypercallError> {
        let mut b = BindVirq {
            virq,
            vcpu: 0,
            port: 0,
        };
        Self::check(self.call3(
            HYPERVISOR_EVENT_CHANNEL_OP,
            u64::from(EVTCHNOP_BIND_VIRQ),
            &raw mut b as u64,
            0,
        ))?;
        Ok(b.port)
    }

    /// Sets an HVM parameter (`HVMOP_set_param`).
    pub fn hvm_set_param(&self, index: u32, value: u64) -> Result<(), HypercallError> {
        let mut p = XenHvmParam {
            domid: DOMID_SELF,
            pad: 0,
            index,
            value,
        };
        Self::check(self.call3(
            HYPERVISOR_HVM_OP,
            u64::from(HVMOP_SET_PARAM),
            &raw mut p as u64,
            0,
        ))
        .map(drop)
    }

    /// Ends the domain (`SCHEDOP_shutdown`) with a `SHUTDOWN_*` reason.
    pub fn shutdown(&self, reason: u32) -> Result<(), HypercallError> {
        let mut s = SchedShutdown { reason };
        Self::check(self.call3(
            HYPERVISOR_SCHED_OP,
            u64::from(SCHEDOP_SHUTDOWN),
            &raw mut s as u64,
            0,
        ))
        .map(drop)
    }
}
