//! [`SimHost`]: dom0 with xenstored and backends, creating guests the way
//! a toolstack does (ring pages and ports in HVM parameters, device nodes
//! in XenStore), with backend tasks handed to the caller's executor.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use core::future::Future;
use core::pin::Pin;

use super::xenstored::Xenstored;
use super::{SimDomain, SimXen};
use crate::abi::DomId;
use crate::abi::hvm::{HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN};
use crate::evtchn::EventChannels;
use crate::guest::{ConnectError, DEFAULT_GRANT_FRAMES, Xen};
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::Page;

/// A task for the caller's executor.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Routes a domain's upcall to its [`EventChannels::handle_upcall`].
pub fn wire_upcall<H: Hypervisor + 'static>(dom: &SimDomain, events: &Rc<EventChannels<H>>) {
    let weak = Rc::downgrade(events);
    dom.set_upcall(Rc::new(move || {
        if let Some(e) = weak.upgrade() {
            e.handle_upcall();
        }
    }));
}

/// Dom0: the hypervisor, xenstored, and a spawner for backend tasks.
pub struct SimHost {
    xen: SimXen,
    dom0: SimDomain,
    events: Rc<EventChannels<SimDomain>>,
    store: Xenstored,
    spawn: Rc<dyn Fn(Task)>,
}

impl core::fmt::Debug for SimHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SimHost")
    }
}

impl SimHost {
    /// A host whose backend tasks are given to `spawn`.
    pub fn new(spawn: impl Fn(Task) + 'static) -> Result<Self, HypercallError> {
        let xen = SimXen::new();
        let dom0 = xen.domain(0);
        let events = Rc::new(EventChannels::new(Rc::new(dom0.clone()))?);
        wire_upcall(&dom0, &events);
        Ok(SimHost {
            xen,
            dom0,
            events,
            store: Xenstored::new(),
            spawn: Rc::new(spawn),
        })
    }

    /// The hypervisor.
    pub fn xen(&self) -> &SimXen {
        &self.xen
    }

    /// Dom0's handle (for grant maps and copies).
    pub fn dom0(&self) -> &SimDomain {
        &self.dom0
    }

    /// Dom0's event channels.
    pub fn events(&self) -> &Rc<EventChannels<SimDomain>> {
        &self.events
    }

    /// The XenStore daemon.
    pub fn store(&self) -> &Xenstored {
        &self.store
    }

    /// Runs `task` on the caller's executor.
    pub fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        (self.spawn)(Box::pin(task))
    }

    /// Creates domain `domid` with a XenStore ring and port in its HVM
    /// parameters and its home directory in the store, and starts serving it.
    pub fn create_guest(&self, domid: DomId) -> Result<SimDomain, HypercallError> {
        let g = self.xen.domain(domid);
        let page = Page::new();
        let gfn = g.add_page(&page);
        g.set_param(HVM_PARAM_STORE_PFN, gfn);
        let gport = g.evtchn_alloc_unbound(0)?;
        let dport = self.events.bind_interdomain(domid, gport)?;
        g.set_param(HVM_PARAM_STORE_EVTCHN, u64::from(gport));
        self.store.write(
            &format!("/local/domain/{domid}/name"),
            format!("guest{domid}").as_bytes(),
        );
        self.store.write(
            &format!("/local/domain/{domid}/domid"),
            format!("{domid}").as_bytes(),
        );
        self.spawn(self.store.serve(self.events.clone(), page, dport, domid));
        Ok(g)
    }

    /// Connects the guest side ([`Xen::connect`]) and routes its upcall.
    pub fn connect_guest(&self, guest: &SimDomain) -> Result<Xen<SimDomain>, ConnectError> {
        let xen = Xen::connect(guest.clone(), DEFAULT_GRANT_FRAMES)?;
        wire_upcall(guest, xen.events());
        Ok(xen)
    }
}
