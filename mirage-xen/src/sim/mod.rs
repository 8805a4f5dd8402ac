//! A simulated Xen, in process: domains with memory, grant tables and
//! event channels ([`SimXen`], [`SimDomain`]), a XenStore daemon
//! ([`xenstored`]), and the backends a toolstack would run in dom0
//! ([`netback`], [`blkback`], [`consoleback`]), all working on the same
//! shared [`Page`]s the frontends use. [`host::SimHost`] wires a guest up
//! the way `xl create` would.
//!
//! The simulation follows the public headers, not Xen's code: grant maps
//! check the entry's flags and domain and set `GTF_reading`/`GTF_writing`
//! while mapped; sends set the pending bit, and on a 0→1 edge of an
//! unmasked port the selector bit and `evtchn_upcall_pending`, then call
//! the domain's upcall.

pub mod blkback;
pub mod consoleback;
pub mod host;
pub mod netback;
pub mod xenstored;

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::mem::offset_of;
use core::sync::atomic::Ordering;

use crate::abi::grant_table::{
    ENTRIES_PER_FRAME, GNTST_BAD_DOMAIN, GNTST_BAD_GNTREF, GNTST_GENERAL_ERROR,
    GNTST_PERMISSION_DENIED, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_TYPE_MASK,
    GTF_WRITING,
};
use crate::abi::xen::{EVTCHN_2L_NR_CHANNELS, SharedInfo, VcpuInfo};
use crate::abi::{DomId, Gfn, GrantRef, Port};
use crate::hypercall::{HypercallError, Hypervisor, XEN_EINVAL, XEN_ENOENT, XEN_ENOSPC};
use crate::page::Page;

/// Grant-table frames a simulated domain may map.
pub const MAX_GRANT_FRAMES: u32 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Free,
    Unbound { remote: DomId },
    Interdomain { remote: DomId, remote_port: Port },
}

struct Domain {
    shared_info: Page,
    grant_frames: Vec<Page>,
    channels: Vec<Channel>,
    params: BTreeMap<u32, u64>,
    memory: BTreeMap<Gfn, Page>,
    frames_by_addr: BTreeMap<usize, Gfn>,
    next_gfn: Gfn,
    upcall: Option<Rc<dyn Fn()>>,
    shutdown: Option<u32>,
    sends: u64,
}

impl Domain {
    fn new() -> Self {
        Domain {
            shared_info: Page::new(),
            grant_frames: Vec::new(),
            channels: alloc::vec![Channel::Free],
            params: BTreeMap::new(),
            memory: BTreeMap::new(),
            frames_by_addr: BTreeMap::new(),
            next_gfn: 0x1000,
            upcall: None,
            shutdown: None,
            sends: 0,
        }
    }
}

#[derive(Default)]
struct World {
    domains: BTreeMap<DomId, Domain>,
    /// Live grant maps: (granter, gref) → (readers, writers).
    maps: BTreeMap<(DomId, GrantRef), (u32, u32)>,
}

/// The simulated hypervisor: every domain's state.
#[derive(Clone, Default)]
pub struct SimXen {
    world: Rc<RefCell<World>>,
}

impl core::fmt::Debug for SimXen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SimXen")
    }
}

impl SimXen {
    /// An empty hypervisor.
    pub fn new() -> Self {
        SimXen::default()
    }

    /// Creates domain `domid` (or returns the existing one) and a handle to it.
    pub fn domain(&self, domid: DomId) -> SimDomain {
        self.world
            .borrow_mut()
            .domains
            .entry(domid)
            .or_insert_with(Domain::new);
        SimDomain {
            world: self.world.clone(),
            domid,
        }
    }
}

/// One simulated domain; implements [`Hypervisor`] for code running in it,
/// and offers the backend-only operations (grant map and copy) besides.
#[derive(Clone)]
pub struct SimDomain {
    world: Rc<RefCell<World>>,
    domid: DomId,
}

impl core::fmt::Debug for SimDomain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SimDomain({})", self.domid)
    }
}

const PENDING: usize = offset_of!(SharedInfo, evtchn_pending);
const MASK: usize = offset_of!(SharedInfo, evtchn_mask);

fn raise(world: &RefCell<World>, dom: DomId, port: Port) {
    let upcall = {
        let w = world.borrow();
        let Some(d) = w.domains.get(&dom) else {
            return;
        };
        let word = (port / 64) as usize;
        let bit = 1u64 << (port % 64);
        let si = &d.shared_info;
        let old = si
            .atomic_u64(PENDING + word * 8)
            .fetch_or(bit, Ordering::AcqRel);
        let masked = si.read_u64(MASK + word * 8) & bit != 0;
        if old & bit != 0 || masked {
            return;
        }
        si.atomic_u64(offset_of!(VcpuInfo, evtchn_pending_sel))
            .fetch_or(1 << word, Ordering::AcqRel);
        si.write_u8(offset_of!(VcpuInfo, evtchn_upcall_pending), 1);
        d.upcall.clone()
    };
    if let Some(f) = upcall {
        f();
    }
}

impl SimDomain {
    /// This domain's id.
    pub fn domid(&self) -> DomId {
        self.domid
    }

    fn with<R>(&self, f: impl FnOnce(&mut Domain) -> R) -> R {
        let mut w = self.world.borrow_mut();
        let d = w
            .domains
            .get_mut(&self.domid)
            .unwrap_or_else(|| unreachable!("SimDomain handles exist only for created domains"));
        f(d)
    }

    /// Installs the upcall: what the event-channel interrupt would run
    /// (normally [`EventChannels::handle_upcall`](crate::evtchn::EventChannels::handle_upcall)).
    pub fn set_upcall(&self, upcall: Rc<dyn Fn()>) {
        self.with(|d| d.upcall = Some(upcall));
    }

    /// Sets an HVM parameter, as the toolstack does before boot.
    pub fn set_param(&self, index: u32, value: u64) {
        self.with(|d| d.params.insert(index, value));
    }

    /// Adds `page` to this domain's memory and returns its frame number.
    pub fn add_page(&self, page: &Page) -> Gfn {
        self.frame_of(page)
    }

    /// The `SHUTDOWN_*` reason, once the domain has shut down.
    pub fn shutdown_reason(&self) -> Option<u32> {
        self.with(|d| d.shutdown)
    }

    /// Event-channel sends this domain has made.
    pub fn sends(&self) -> u64 {
        self.with(|d| d.sends)
    }

    /// Maps `granter`'s grant `gref` into this domain (`GNTTABOP_map_grant_ref`):
    /// checks the entry names us and permits the access, and marks it in
    /// use until the returned mapping is dropped.
    pub fn map_grant(
        &self,
        granter: DomId,
        gref: GrantRef,
        readonly: bool,
    ) -> Result<GrantMapping, HypercallError> {
        let page = {
            let w = self.world.borrow();
            let d = w
                .domains
                .get(&granter)
                .ok_or(HypercallError::GrantStatus(GNTST_BAD_DOMAIN))?;
            let frame = d
                .grant_frames
                .get((gref / ENTRIES_PER_FRAME) as usize)
                .ok_or(HypercallError::GrantStatus(GNTST_BAD_GNTREF))?;
            let off = (gref % ENTRIES_PER_FRAME) as usize * 8;
            let flags = frame.atomic_u16(off).load(Ordering::Acquire);
            if flags & GTF_TYPE_MASK != GTF_PERMIT_ACCESS || frame.read_u16(off + 2) != self.domid {
                return Err(HypercallError::GrantStatus(GNTST_PERMISSION_DENIED));
            }
            if !readonly && flags & GTF_READONLY != 0 {
                return Err(HypercallError::GrantStatus(GNTST_PERMISSION_DENIED));
            }
            let gfn = Gfn::from(frame.read_u32(off + 4));
            let page = d
                .memory
                .get(&gfn)
                .cloned()
                .ok_or(HypercallError::GrantStatus(GNTST_GENERAL_ERROR))?;
            frame.atomic_u16(off).fetch_or(
                GTF_READING | if readonly { 0 } else { GTF_WRITING },
                Ordering::AcqRel,
            );
            page
        };
        let mut w = self.world.borrow_mut();
        let e = w.maps.entry((granter, gref)).or_insert((0, 0));
        e.0 += 1;
        if !readonly {
            e.1 += 1;
        }
        Ok(GrantMapping {
            world: self.world.clone(),
            granter,
            gref,
            readonly,
            page,
        })
    }

    /// Copies from `granter`'s grant into `dst` (`GNTTABOP_copy` source side).
    pub fn copy_from_grant(
        &self,
        granter: DomId,
        gref: GrantRef,
        offset: usize,
        dst: &mut [u8],
    ) -> Result<(), HypercallError> {
        if offset + dst.len() > crate::page::PAGE_SIZE {
            return Err(HypercallError::GrantStatus(
                crate::abi::grant_table::GNTST_GENERAL_ERROR,
            ));
        }
        let m = self.map_grant(granter, gref, true)?;
        m.page().read_bytes(offset, dst);
        Ok(())
    }

    /// Copies `src` into `granter`'s grant (`GNTTABOP_copy` destination side).
    pub fn copy_to_grant(
        &self,
        granter: DomId,
        gref: GrantRef,
        offset: usize,
        src: &[u8],
    ) -> Result<(), HypercallError> {
        if offset + src.len() > crate::page::PAGE_SIZE {
            return Err(HypercallError::GrantStatus(
                crate::abi::grant_table::GNTST_GENERAL_ERROR,
            ));
        }
        let m = self.map_grant(granter, gref, false)?;
        m.page().write_bytes(offset, src);
        Ok(())
    }
}

/// A granted page mapped into a backend; unmaps on drop.
pub struct GrantMapping {
    world: Rc<RefCell<World>>,
    granter: DomId,
    gref: GrantRef,
    readonly: bool,
    page: Page,
}

impl core::fmt::Debug for GrantMapping {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GrantMapping({}:{})", self.granter, self.gref)
    }
}

impl GrantMapping {
    /// The mapped page.
    pub fn page(&self) -> &Page {
        &self.page
    }
}

impl Drop for GrantMapping {
    fn drop(&mut self) {
        let mut w = self.world.borrow_mut();
        let (readers, writers) = {
            let Some(e) = w.maps.get_mut(&(self.granter, self.gref)) else {
                return;
            };
            e.0 = e.0.saturating_sub(1);
            if !self.readonly {
                e.1 = e.1.saturating_sub(1);
            }
            *e
        };
        if readers == 0 {
            w.maps.remove(&(self.granter, self.gref));
        }
        let Some(d) = w.domains.get(&self.granter) else {
            return;
        };
        let Some(frame) = d.grant_frames.get((self.gref / ENTRIES_PER_FRAME) as usize) else {
            return;
        };
        let off = (self.gref % ENTRIES_PER_FRAME) as usize * 8;
        let mut clear = 0;
        if writers == 0 {
            clear |= GTF_WRITING;
        }
        if readers == 0 {
            clear |= GTF_READING;
        }
        frame.atomic_u16(off).fetch_and(!clear, Ordering::AcqRel);
    }
}

impl Hypervisor for SimDomain {
    fn frame_of(&self, page: &Page) -> Gfn {
        self.with(|d| {
            if let Some(g) = d.frames_by_addr.get(&page.address()) {
                return *g;
            }
            let g = d.next_gfn;
            d.next_gfn += 1;
            d.frames_by_addr.insert(page.address(), g);
            d.memory.insert(g, page.clone());
            g
        })
    }

    fn page_at(&self, gfn: Gfn) -> Result<Page, HypercallError> {
        self.with(|d| d.memory.get(&gfn).cloned())
            .ok_or(HypercallError::Errno(XEN_EINVAL))
    }

    fn map_shared_info(&self) -> Result<Page, HypercallError> {
        Ok(self.with(|d| d.shared_info.clone()))
    }

    fn map_grant_table(&self, nr_frames: u32) -> Result<Vec<Page>, HypercallError> {
        if nr_frames > MAX_GRANT_FRAMES {
            return Err(HypercallError::Errno(XEN_EINVAL));
        }
        let frames = self.with(|d| {
            while d.grant_frames.len() < nr_frames as usize {
                d.grant_frames.push(Page::new());
            }
            d.grant_frames[..nr_frames as usize].to_vec()
        });
        Ok(frames)
    }

    fn hvm_get_param(&self, index: u32) -> Result<u64, HypercallError> {
        self.with(|d| d.params.get(&index).copied())
            .ok_or(HypercallError::Errno(XEN_ENOENT))
    }

    fn evtchn_alloc_unbound(&self, remote: DomId) -> Result<Port, HypercallError> {
        self.with(|d| {
            let port = match d.channels.iter().skip(1).position(|c| *c == Channel::Free) {
                Some(i) => i + 1,
                None => {
                    if d.channels.len() as u32 >= EVTCHN_2L_NR_CHANNELS {
                        return Err(HypercallError::Errno(XEN_ENOSPC));
                    }
                    d.channels.push(Channel::Free);
                    d.channels.len() - 1
                }
            };
            d.channels[port] = Channel::Unbound { remote };
            Ok(port as Port)
        })
    }

    fn evtchn_bind_interdomain(
        &self,
        remote: DomId,
        remote_port: Port,
    ) -> Result<Port, HypercallError> {
        let ok = {
            let w = self.world.borrow();
            w.domains
                .get(&remote)
                .and_then(|d| d.channels.get(remote_port as usize))
                .is_some_and(|c| *c == Channel::Unbound { remote: self.domid })
        };
        if !ok {
            return Err(HypercallError::Errno(XEN_EINVAL));
        }
        let port = self.evtchn_alloc_unbound(remote)?;
        let mut w = self.world.borrow_mut();
        if let Some(d) = w.domains.get_mut(&self.domid) {
            d.channels[port as usize] = Channel::Interdomain {
                remote,
                remote_port,
            };
        }
        if let Some(d) = w.domains.get_mut(&remote) {
            d.channels[remote_port as usize] = Channel::Interdomain {
                remote: self.domid,
                remote_port: port,
            };
        }
        Ok(port)
    }

    fn evtchn_send(&self, port: Port) -> Result<(), HypercallError> {
        let target = self.with(|d| {
            d.sends += 1;
            match d.channels.get(port as usize) {
                Some(Channel::Interdomain {
                    remote,
                    remote_port,
                }) => Ok(Some((*remote, *remote_port))),
                Some(Channel::Unbound { .. }) => Ok(None),
                _ => Err(HypercallError::Errno(XEN_EINVAL)),
            }
        })?;
        if let Some((dom, p)) = target {
            raise(&self.world, dom, p);
        }
        Ok(())
    }

    fn evtchn_unmask(&self, port: Port) -> Result<(), HypercallError> {
        if port >= EVTCHN_2L_NR_CHANNELS {
            return Err(HypercallError::Errno(XEN_EINVAL));
        }
        let word = (port / 64) as usize;
        let bit = 1u64 << (port % 64);
        let pending = self.with(|d| {
            d.shared_info
                .atomic_u64(MASK + word * 8)
                .fetch_and(!bit, Ordering::AcqRel);
            let p = d
                .shared_info
                .atomic_u64(PENDING + word * 8)
                .fetch_and(!bit, Ordering::AcqRel);
            p & bit != 0
        });
        if pending {
            raise(&self.world, self.domid, port);
        }
        Ok(())
    }

    fn evtchn_close(&self, port: Port) -> Result<(), HypercallError> {
        let mut w = self.world.borrow_mut();
        let me = self.domid;
        let old = {
            let d = w
                .domains
                .get_mut(&me)
                .ok_or(HypercallError::Errno(XEN_EINVAL))?;
            match d.channels.get_mut(port as usize) {
                Some(c) if port != 0 && *c != Channel::Free => core::mem::replace(c, Channel::Free),
                _ => return Err(HypercallError::Errno(XEN_EINVAL)),
            }
        };
        if let Channel::Interdomain {
            remote,
            remote_port,
        } = old
            && let Some(c) = w
                .domains
                .get_mut(&remote)
                .and_then(|d| d.channels.get_mut(remote_port as usize))
        {
            *c = Channel::Unbound { remote: me };
        }
        Ok(())
    }

    fn sched_yield(&self) {}

    fn sched_block(&self) {}

    fn sched_shutdown(&self, reason: u32) -> Result<(), HypercallError> {
        self.with(|d| d.shutdown = Some(reason));
        Ok(())
    }
}
