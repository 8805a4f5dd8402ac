//! The real x86-64 hypervisor interface: calls through the hypercall page.
//!
//! Assumes an identity-mapped PVH guest (virtual address = physical
//! address), so a page's frame number is its address shifted right by 12.
//! Setting up the hypercall page itself ([`install_hypercall_page`]) and the
//! upcall vector is the boot runtime's job.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::arch::asm;
use core::cell::{OnceCell, RefCell};

use super::{HypercallError, Hypervisor};
use crate::abi::event_channel::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_CLOSE, EVTCHNOP_SEND,
    EVTCHNOP_UNMASK, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnPort,
};
use crate::abi::grant_table::{GNTTABOP_SET_VERSION, GnttabSetVersion};
use crate::abi::hvm::{HVMOP_GET_PARAM, XenHvmParam};
use crate::abi::xen::{
    HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_HVM_OP,
    HYPERVISOR_MEMORY_OP, HYPERVISOR_SCHED_OP, SCHEDOP_BLOCK, SCHEDOP_SHUTDOWN, SCHEDOP_YIELD,
    SchedShutdown, XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO, XENMEM_ADD_TO_PHYSMAP,
    XenAddToPhysmap,
};
use crate::abi::{DOMID_SELF, DomId, Gfn, Port};
use crate::page::{PAGE_SIZE, Page};

/// Finds Xen's CPUID leaves and writes the hypercall-page MSR so that Xen
/// fills `page` with hypercall stubs. Returns `None` when not running on Xen.
///
/// # Safety
/// Must run in ring 0 on an identity-mapped guest; `page` must stay
/// allocated for the life of the guest.
// `__cpuid` is an unsafe fn before Rust 1.87 and safe after.
#[allow(unused_unsafe)]
pub unsafe fn install_hypercall_page(page: &Page) -> Option<XenHypervisor> {
    for base in (0x4000_0000u32..0x4001_0000).step_by(0x100) {
        // SAFETY: CPUID is always available on x86-64.
        let leaf = unsafe { core::arch::x86_64::__cpuid(base) };
        let sig = [leaf.ebx, leaf.ecx, leaf.edx];
        if sig == [0x566e_6558, 0x65584d4d, 0x4d4d566e] && leaf.eax >= base + 2 {
            // SAFETY: as above.
            let msr = unsafe { core::arch::x86_64::__cpuid(base + 2) }.ebx;
            let addr = page.address() as u64;
            // SAFETY: writing Xen's hypercall MSR with a page address is the
            // documented way to install the page; the caller runs in ring 0.
            unsafe {
                asm!("wrmsr", in("ecx") msr, in("eax") addr as u32, in("edx") (addr >> 32) as u32,
                    options(nostack, preserves_flags));
            }
            // SAFETY: Xen just filled `page` with hypercall stubs.
            return Some(unsafe { XenHypervisor::from_hypercall_page(page.address()) });
        }
    }
    None
}

/// Hypercall `nr` with up to three arguments (`rdi`, `rsi`, `rdx`) through
/// the hypercall page at `page`; returns `rax` (negative errno on failure).
/// For operations beyond [`Hypervisor`](super::Hypervisor), such as the
/// VCPU timers a boot runtime sets.
///
/// # Safety
/// `page` must be a hypercall page Xen installed for this domain, and the
/// arguments must be what hypercall `nr` expects (pointers valid for the
/// structures it reads and writes).
pub unsafe fn hypercall3(page: usize, nr: u32, a1: u64, a2: u64, a3: u64) -> i64 {
    let entry = page + nr as usize * 32;
    let ret: i64;
    // SAFETY: per the contract, `entry` is a stub in the hypercall page Xen
    // installed; the stub follows the C ABI for its argument registers and
    // clobbers. Without `nostack` the compiler keeps the red zone free for
    // `call`.
    unsafe {
        asm!("call {entry}", entry = in(reg) entry,
            inlateout("rdi") a1 => _, inlateout("rsi") a2 => _, inlateout("rdx") a3 => _,
            lateout("rax") ret, clobber_abi("C"));
    }
    ret
}

/// Hypercalls through an installed hypercall page. Clones share the
/// mapped `shared_info` and grant-table frames: Xen keeps one copy of each
/// and moves it when mapped again, so they are mapped once per guest.
#[derive(Debug, Clone)]
pub struct XenHypervisor {
    hypercall_page: usize,
    shared_info: Rc<OnceCell<Page>>,
    grant_frames: Rc<RefCell<Vec<Page>>>,
}

impl XenHypervisor {
    /// Uses a hypercall page Xen already filled at `address`.
    ///
    /// # Safety
    /// `address` must be a hypercall page installed for this domain.
    pub unsafe fn from_hypercall_page(address: usize) -> Self {
        XenHypervisor {
            hypercall_page: address,
            shared_info: Rc::new(OnceCell::new()),
            grant_frames: Rc::new(RefCell::new(Vec::new())),
        }
    }

    fn call2(&self, nr: u32, a1: u64, a2: u64) -> i64 {
        self.call3(nr, a1, a2, 0)
    }

    /// A hypercall with three arguments (`rdi`, `rsi`, `rdx`), result in `rax`.
    fn call3(&self, nr: u32, a1: u64, a2: u64, a3: u64) -> i64 {
        // SAFETY: the page was installed for this domain (constructor
        // contract); the callers pass arguments valid for `nr`.
        unsafe { hypercall3(self.hypercall_page, nr, a1, a2, a3) }
    }

    /// `grant_table_op(cmd, uop, count)` with one operation.
    fn grant_table_op<T>(&self, cmd: u32, op: &mut T) -> Result<(), HypercallError> {
        Self::check(self.call3(
            HYPERVISOR_GRANT_TABLE_OP,
            u64::from(cmd),
            op as *mut T as u64,
            1,
        ))
    }

    fn check(ret: i64) -> Result<(), HypercallError> {
        if ret < 0 {
            Err(HypercallError::Errno(ret))
        } else {
            Ok(())
        }
    }

    fn add_to_physmap(&self, space: u32, idx: u64, page: &Page) -> Result<(), HypercallError> {
        let mut arg = XenAddToPhysmap {
            domid: DOMID_SELF,
            size: 0,
            space,
            idx,
            gpfn: self.frame_of(page),
        };
        Self::check(self.call2(
            HYPERVISOR_MEMORY_OP,
            u64::from(XENMEM_ADD_TO_PHYSMAP),
            &raw mut arg as u64,
        ))
    }

    fn evtchn_op<T>(&self, cmd: u32, arg: &mut T) -> Result<(), HypercallError> {
        Self::check(self.call2(
            HYPERVISOR_EVENT_CHANNEL_OP,
            u64::from(cmd),
            arg as *mut T as u64,
        ))
    }
}

impl Hypervisor for XenHypervisor {
    fn frame_of(&self, page: &Page) -> Gfn {
        (page.address() / PAGE_SIZE) as Gfn
    }

    fn page_at(&self, gfn: Gfn) -> Result<Page, HypercallError> {
        let addr = usize::try_from(gfn)
            .ok()
            .and_then(|g| g.checked_mul(PAGE_SIZE))
            .ok_or(HypercallError::FrameTooLarge(gfn))?;
        // SAFETY: the toolstack placed this frame in our identity-mapped
        // physical memory for the ring; nothing else uses it as a reference.
        unsafe { Page::from_address(addr) }.ok_or(HypercallError::FrameTooLarge(gfn))
    }

    fn map_shared_info(&self) -> Result<Page, HypercallError> {
        if let Some(p) = self.shared_info.get() {
            return Ok(p.clone());
        }
        let page = Page::new();
        self.add_to_physmap(XENMAPSPACE_SHARED_INFO, 0, &page)?;
        Ok(self.shared_info.get_or_init(|| page).clone())
    }

    fn map_grant_table(&self, nr_frames: u32) -> Result<Vec<Page>, HypercallError> {
        let mut frames = self.grant_frames.borrow_mut();
        if frames.is_empty() {
            let mut v = GnttabSetVersion { version: 1 };
            self.grant_table_op(GNTTABOP_SET_VERSION, &mut v)?;
        }
        for i in frames.len() as u32..nr_frames {
            let page = Page::new();
            self.add_to_physmap(XENMAPSPACE_GRANT_TABLE, u64::from(i), &page)?;
            frames.push(page);
        }
        Ok(frames[..nr_frames as usize].to_vec())
    }

    fn hvm_get_param(&self, index: u32) -> Result<u64, HypercallError> {
        let mut p = XenHvmParam {
            domid: DOMID_SELF,
            pad: 0,
            index,
            value: 0,
        };
        Self::check(self.call2(
            HYPERVISOR_HVM_OP,
            u64::from(HVMOP_GET_PARAM),
            &raw mut p as u64,
        ))?;
        Ok(p.value)
    }

    fn evtchn_alloc_unbound(&self, remote: DomId) -> Result<Port, HypercallError> {
        let mut a = EvtchnAllocUnbound {
            dom: DOMID_SELF,
            remote_dom: remote,
            port: 0,
        };
        self.evtchn_op(EVTCHNOP_ALLOC_UNBOUND, &mut a)?;
        Ok(a.port)
    }

    fn evtchn_bind_interdomain(
        &self,
        remote: DomId,
        remote_port: Port,
    ) -> Result<Port, HypercallError> {
        let mut a = EvtchnBindInterdomain {
            remote_dom: remote,
            remote_port,
            local_port: 0,
        };
        self.evtchn_op(EVTCHNOP_BIND_INTERDOMAIN, &mut a)?;
        Ok(a.local_port)
    }

    fn evtchn_send(&self, port: Port) -> Result<(), HypercallError> {
        self.evtchn_op(EVTCHNOP_SEND, &mut EvtchnPort { port })
    }

    fn evtchn_unmask(&self, port: Port) -> Result<(), HypercallError> {
        self.evtchn_op(EVTCHNOP_UNMASK, &mut EvtchnPort { port })
    }

    fn evtchn_close(&self, port: Port) -> Result<(), HypercallError> {
        self.evtchn_op(EVTCHNOP_CLOSE, &mut EvtchnPort { port })
    }

    fn sched_yield(&self) {
        self.call2(HYPERVISOR_SCHED_OP, u64::from(SCHEDOP_YIELD), 0);
    }

    fn sched_block(&self) {
        self.call2(HYPERVISOR_SCHED_OP, u64::from(SCHEDOP_BLOCK), 0);
    }

    fn sched_shutdown(&self, reason: u32) -> Result<(), HypercallError> {
        let mut s = SchedShutdown { reason };
        Self::check(self.call2(
            HYPERVISOR_SCHED_OP,
            u64::from(SCHEDOP_SHUTDOWN),
            &raw mut s as u64,
        ))
    }
}
