//! [`Hypervisor`]: what the frontends need from Xen, as a trait.
//!
//! The real implementation (`x86_64::XenHypervisor`, behind the
//! `hypervisor` feature or on `x86_64-*-none` targets) calls through the
//! hypercall page; the simulated one (`crate::sim::SimDomain`, feature
//! `sim`) runs the same operations on in-process state so every frontend
//! runs in `cargo test`.

use alloc::vec::Vec;

use crate::abi::{DomId, Gfn, Port};
use crate::page::Page;

#[cfg(all(
    target_arch = "x86_64",
    any(target_os = "none", feature = "hypervisor")
))]
pub mod x86_64;

/// A hypercall failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HypercallError {
    /// The hypervisor returned a negative Xen errno (`-EINVAL` is `Errno(-22)`).
    #[error("the hypervisor refused the call with Xen errno {0}")]
    Errno(i64),
    /// A grant-table operation returned a `GNTST_*` status.
    #[error("grant-table operation failed with status {0}")]
    GrantStatus(i16),
    /// A frame number does not fit where the ABI puts it.
    #[error("frame number {0:#x} does not fit the interface")]
    FrameTooLarge(Gfn),
}

/// Xen `EINVAL` as returned by hypercalls.
pub const XEN_EINVAL: i64 = -22;
/// Xen `ENOENT`.
pub const XEN_ENOENT: i64 = -2;
/// Xen `ENOSPC`.
pub const XEN_ENOSPC: i64 = -28;
/// Xen `EPERM`.
pub const XEN_EPERM: i64 = -1;

/// The hypervisor operations the device frontends use: memory (where
/// Xen-provided frames live), grant-table and event-channel setup, HVM
/// parameters and scheduling.
pub trait Hypervisor {
    /// The guest frame number of `page`, as written into grant entries.
    fn frame_of(&self, page: &Page) -> Gfn;

    /// The page at a guest frame number the toolstack chose (the XenStore
    /// and console rings).
    fn page_at(&self, gfn: Gfn) -> Result<Page, HypercallError>;

    /// Maps the `shared_info` page (`XENMEM_add_to_physmap`, `XENMAPSPACE_shared_info`).
    fn map_shared_info(&self) -> Result<Page, HypercallError>;

    /// Selects grant-table v1 and maps its first `nr_frames` frames
    /// (`GNTTABOP_set_version`, `XENMEM_add_to_physmap` with `XENMAPSPACE_grant_table`).
    fn map_grant_table(&self, nr_frames: u32) -> Result<Vec<Page>, HypercallError>;

    /// Reads an HVM parameter (`HVMOP_get_param`).
    fn hvm_get_param(&self, index: u32) -> Result<u64, HypercallError>;

    /// Allocates a port that `remote` may bind to (`EVTCHNOP_alloc_unbound`).
    fn evtchn_alloc_unbound(&self, remote: DomId) -> Result<Port, HypercallError>;

    /// Binds a new local port to `remote`'s unbound `remote_port`
    /// (`EVTCHNOP_bind_interdomain`).
    fn evtchn_bind_interdomain(
        &self,
        remote: DomId,
        remote_port: Port,
    ) -> Result<Port, HypercallError>;

    /// Notifies the other end of `port` (`EVTCHNOP_send`).
    fn evtchn_send(&self, port: Port) -> Result<(), HypercallError>;

    /// Clears `port`'s mask bit, re-raising it if pending (`EVTCHNOP_unmask`).
    fn evtchn_unmask(&self, port: Port) -> Result<(), HypercallError>;

    /// Closes `port` (`EVTCHNOP_close`).
    fn evtchn_close(&self, port: Port) -> Result<(), HypercallError>;

    /// Gives up the CPU (`SCHEDOP_yield`).
    fn sched_yield(&self);

    /// Sleeps until an event is pending (`SCHEDOP_block`).
    fn sched_block(&self);

    /// Stops the domain with a `SHUTDOWN_*` reason (`SCHEDOP_shutdown`).
    fn sched_shutdown(&self, reason: u32) -> Result<(), HypercallError>;
}

impl<T: Hypervisor + ?Sized> Hypervisor for alloc::rc::Rc<T> {
    fn frame_of(&self, page: &Page) -> Gfn {
        (**self).frame_of(page)
    }
    fn page_at(&self, gfn: Gfn) -> Result<Page, HypercallError> {
        (**self).page_at(gfn)
    }
    fn map_shared_info(&self) -> Result<Page, HypercallError> {
        (**self).map_shared_info()
    }
    fn map_grant_table(&self, nr_frames: u32) -> Result<Vec<Page>, HypercallError> {
        (**self).map_grant_table(nr_frames)
    }
    fn hvm_get_param(&self, index: u32) -> Result<u64, HypercallError> {
        (**self).hvm_get_param(index)
    }
    fn evtchn_alloc_unbound(&self, remote: DomId) -> Result<Port, HypercallError> {
        (**self).evtchn_alloc_unbound(remote)
    }
    fn evtchn_bind_interdomain(
        &self,
        remote: DomId,
        remote_port: Port,
    ) -> Result<Port, HypercallError> {
        (**self).evtchn_bind_interdomain(remote, remote_port)
    }
    fn evtchn_send(&self, port: Port) -> Result<(), HypercallError> {
        (**self).evtchn_send(port)
    }
    fn evtchn_unmask(&self, port: Port) -> Result<(), HypercallError> {
        (**self).evtchn_unmask(port)
    }
    fn evtchn_close(&self, port: Port) -> Result<(), HypercallError> {
        (**self).evtchn_close(port)
    }
    fn sched_yield(&self) {
        (**self).sched_yield()
    }
    fn sched_block(&self) {
        (**self).sched_block()
    }
    fn sched_shutdown(&self, reason: u32) -> Result<(), HypercallError> {
        (**self).sched_shutdown(reason)
    }
}
