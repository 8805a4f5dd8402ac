//! [`Xen`]: the per-guest handles every frontend needs — the hypervisor,
//! the grant table, event channels and the XenStore connection — set up
//! from the HVM parameters the toolstack left.

use alloc::rc::Rc;

use crate::abi::hvm::{HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN};
use crate::abi::{DomId, GrantRef};
use crate::evtchn::EventChannels;
use crate::grant::{GrantError, GrantTable};
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::Page;
use crate::xenstore::{XenStore, XsError};

/// Grant-table frames mapped by [`Xen::connect`]: 4 frames, 2040 grants.
pub const DEFAULT_GRANT_FRAMES: u32 = 4;

/// Why connecting to Xen failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A hypercall failed (mapping shared info or the grant table, reading a parameter).
    #[error("hypercall failed while connecting to Xen: {0}")]
    Hypercall(#[from] HypercallError),
    /// The XenStore parameters name no usable ring or port.
    #[error("the XenStore ring parameters are invalid")]
    BadStoreParams,
    /// The XenStore connection failed.
    #[error("XenStore: {0}")]
    Store(#[from] XsError),
}

/// A guest's connection to Xen, shared by its frontends (cheap to clone).
pub struct Xen<H> {
    hv: Rc<H>,
    grants: Rc<GrantTable>,
    events: Rc<EventChannels<H>>,
    store: Rc<XenStore<H>>,
}

impl<H> Clone for Xen<H> {
    fn clone(&self) -> Self {
        Xen {
            hv: self.hv.clone(),
            grants: self.grants.clone(),
            events: self.events.clone(),
            store: self.store.clone(),
        }
    }
}

impl<H> core::fmt::Debug for Xen<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Xen").finish_non_exhaustive()
    }
}

impl<H: Hypervisor> Xen<H> {
    /// Maps `shared_info` and `grant_frames` grant-table frames and
    /// connects to XenStore through `HVM_PARAM_STORE_PFN`/`_EVTCHN`.
    pub fn connect(hv: H, grant_frames: u32) -> Result<Self, ConnectError> {
        let hv = Rc::new(hv);
        let events = Rc::new(EventChannels::new(hv.clone())?);
        let grants = Rc::new(GrantTable::new(hv.map_grant_table(grant_frames)?));
        let pfn = hv.hvm_get_param(HVM_PARAM_STORE_PFN)?;
        let port = u32::try_from(hv.hvm_get_param(HVM_PARAM_STORE_EVTCHN)?)
            .map_err(|_| ConnectError::BadStoreParams)?;
        if pfn == 0 || port == 0 {
            return Err(ConnectError::BadStoreParams);
        }
        let page = hv.page_at(pfn)?;
        let store = Rc::new(XenStore::new(events.clone(), page, port)?);
        Ok(Xen {
            hv,
            grants,
            events,
            store,
        })
    }

    /// The hypervisor.
    pub fn hypervisor(&self) -> &Rc<H> {
        &self.hv
    }

    /// The grant table.
    pub fn grants(&self) -> &Rc<GrantTable> {
        &self.grants
    }

    /// Event channels (call [`EventChannels::handle_upcall`] from the upcall).
    pub fn events(&self) -> &Rc<EventChannels<H>> {
        &self.events
    }

    /// The XenStore client.
    pub fn store(&self) -> &Rc<XenStore<H>> {
        &self.store
    }

    /// Grants `domid` access to `page`.
    pub fn grant_page(
        &self,
        domid: DomId,
        page: &Page,
        readonly: bool,
    ) -> Result<GrantRef, GrantError> {
        self.grants
            .grant_access(domid, self.hv.frame_of(page), readonly)
    }
}
