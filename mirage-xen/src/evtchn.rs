//! [`EventChannels`]: Xen's virtual interrupts, as per-port wakers.
//!
//! The 2-level ABI keeps a pending and a mask bit per port in `shared_info`
//! and a selector word per vCPU naming which pending words changed. The
//! upcall handler ([`EventChannels::handle_upcall`], called from the
//! event-channel interrupt or after `SCHEDOP_block` returns) clears the
//! selector, clears each unmasked pending bit and wakes the tasks waiting on
//! that port. A task waits by [registering](EventChannels::register) its
//! waker *before* checking its ring, so an event between the check and the
//! sleep is never lost.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::mem::offset_of;
use core::sync::atomic::Ordering;
use core::task::Waker;

use crate::abi::xen::{EVTCHN_2L_NR_CHANNELS, SharedInfo, VcpuInfo};
use crate::abi::{DomId, Port};
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::Page;

const PENDING: usize = offset_of!(SharedInfo, evtchn_pending);
const MASK: usize = offset_of!(SharedInfo, evtchn_mask);
const UPCALL_PENDING: usize = offset_of!(VcpuInfo, evtchn_upcall_pending);
const PENDING_SEL: usize = offset_of!(VcpuInfo, evtchn_pending_sel);

/// Event channels of one domain, with wakers per port.
pub struct EventChannels<H> {
    hv: Rc<H>,
    shared: Page,
    wakers: RefCell<BTreeMap<Port, Vec<Waker>>>,
    delivered: Cell<u64>,
}

impl<H> core::fmt::Debug for EventChannels<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventChannels")
            .field("delivered", &self.delivered.get())
            .finish()
    }
}

impl<H: Hypervisor> EventChannels<H> {
    /// Maps `shared_info` and starts with no waiters.
    pub fn new(hv: Rc<H>) -> Result<Self, HypercallError> {
        let shared = hv.map_shared_info()?;
        Ok(EventChannels {
            hv,
            shared,
            wakers: RefCell::new(BTreeMap::new()),
            delivered: Cell::new(0),
        })
    }

    /// The hypervisor handle.
    pub fn hypervisor(&self) -> &Rc<H> {
        &self.hv
    }

    /// The `shared_info` page.
    pub fn shared_info(&self) -> &Page {
        &self.shared
    }

    /// Allocates an unbound port for `remote` to bind, unmasked.
    pub fn alloc_unbound(&self, remote: DomId) -> Result<Port, HypercallError> {
        let port = self.hv.evtchn_alloc_unbound(remote)?;
        self.hv.evtchn_unmask(port)?;
        Ok(port)
    }

    /// Binds to `remote`'s unbound port, unmasked.
    pub fn bind_interdomain(
        &self,
        remote: DomId,
        remote_port: Port,
    ) -> Result<Port, HypercallError> {
        let port = self.hv.evtchn_bind_interdomain(remote, remote_port)?;
        self.hv.evtchn_unmask(port)?;
        Ok(port)
    }

    /// Binds a port the toolstack already connected (XenStore, console) by unmasking it.
    pub fn bind_existing(&self, port: Port) -> Result<Port, HypercallError> {
        self.hv.evtchn_unmask(port)?;
        Ok(port)
    }

    /// Notifies the other end of `port`.
    pub fn notify(&self, port: Port) -> Result<(), HypercallError> {
        self.hv.evtchn_send(port)
    }

    /// Closes `port` and wakes anyone still waiting on it.
    pub fn close(&self, port: Port) -> Result<(), HypercallError> {
        let waiting = self.wakers.borrow_mut().remove(&port);
        for w in waiting.into_iter().flatten() {
            w.wake();
        }
        self.hv.evtchn_close(port)
    }

    /// Wakes `waker` the next time `port` fires.
    pub fn register(&self, port: Port, waker: &Waker) {
        let mut map = self.wakers.borrow_mut();
        let list = map.entry(port).or_default();
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    /// Whether `port` is pending (set and not yet handled).
    pub fn is_pending(&self, port: Port) -> bool {
        port < EVTCHN_2L_NR_CHANNELS
            && self.shared.read_u64(PENDING + (port / 64) as usize * 8) & (1 << (port % 64)) != 0
    }

    /// Events handled so far.
    pub fn delivered(&self) -> u64 {
        self.delivered.get()
    }

    /// The upcall: takes every pending, unmasked port off vCPU 0's selector
    /// and wakes its waiters. Returns how many ports fired.
    pub fn handle_upcall(&self) -> usize {
        self.shared.write_u8(UPCALL_PENDING, 0);
        let sel = self
            .shared
            .atomic_u64(PENDING_SEL)
            .swap(0, Ordering::AcqRel);
        let mut fired = Vec::new();
        let mut words = sel;
        while words != 0 {
            let w = words.trailing_zeros() as usize;
            words &= words - 1;
            let pending = self.shared.atomic_u64(PENDING + w * 8);
            let mask = self.shared.read_u64(MASK + w * 8);
            let mut bits = pending.load(Ordering::Acquire) & !mask;
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                pending.fetch_and(!(1u64 << b), Ordering::AcqRel);
                fired.push(w as Port * 64 + b);
            }
        }
        self.delivered
            .set(self.delivered.get() + fired.len() as u64);
        let mut to_wake = Vec::new();
        {
            let mut map = self.wakers.borrow_mut();
            for port in &fired {
                if let Some(list) = map.get_mut(port) {
                    to_wake.append(list);
                }
            }
        }
        for w in to_wake {
            w.wake();
        }
        fired.len()
    }
}
