//! [`Blkfront`]: a Xen virtual block device (`io/blkif.h`) as a mirage-core
//! [`Block`].
//!
//! A transfer is cut into requests of at most
//! [`BLKIF_MAX_SEGMENTS_PER_REQUEST`] segments of one page each. Data goes
//! through pages of our own (a pool, reused), granted to the backend for
//! the life of the request — read-only for writes, writable for reads —
//! and revoked when the response arrives. As many requests as the ring
//! holds are in flight at once. Ring sector numbers are in 512-byte units
//! whatever the device's `sector-size`.
//!
//! Responses with unknown ids, ring overruns and a closing backend make
//! the device gone ([`BlockError::Disconnected`] from then on); an error
//! status from the backend fails that call with [`BlockError::Io`].

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Poll, Waker};

use mirage_core::block::{Block, BlockError, BlockInfo, check_request};

use crate::abi::blkif::{
    BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE,
    BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_OKAY, BLKIF_SECTOR_SIZE, BlkifRequest, BlkifRequestSegment,
    BlkifResponse, VDISK_READONLY,
};
use crate::abi::{DomId, GrantRef, Port};
use crate::grant::GrantError;
use crate::guest::Xen;
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::{PAGE_SIZE, Page};
use crate::ring::{FrontRing, RingError};
use crate::xenbus::{XenbusDevice, XenbusError, XenbusState};

/// The block ring.
pub type BlkRing = FrontRing<BlkifRequest, BlkifResponse>;

/// Bytes one request can carry.
pub const MAX_REQUEST_BYTES: usize = BLKIF_MAX_SEGMENTS_PER_REQUEST * PAGE_SIZE;

/// Why a block frontend failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlkfrontError {
    /// The xenbus handshake failed.
    #[error("xenbus: {0}")]
    Xenbus(#[from] XenbusError),
    /// A hypercall failed.
    #[error("hypercall: {0}")]
    Hypercall(#[from] HypercallError),
    /// Granting a page failed.
    #[error("grant: {0}")]
    Grant(#[from] GrantError),
    /// The backend's `sector-size` or `sectors` is unusable.
    #[error("the backend describes an unusable disk: {0}")]
    BadGeometry(&'static str),
    /// The backend broke the ring protocol.
    #[error("the backend broke the ring protocol: {0}")]
    Ring(#[from] RingError),
    /// The backend answered a request that is not outstanding.
    #[error("the backend answered unknown request id {0}")]
    UnknownId(u64),
    /// The backend answered a request with an error status.
    #[error("the backend failed the request with status {0}")]
    Status(i16),
    /// The backend closed.
    #[error("the backend closed the device")]
    Closed,
}

/// What the backend offers besides reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlkFeatures {
    /// `feature-flush-cache`.
    pub flush_cache: bool,
    /// `feature-barrier`.
    pub barrier: bool,
}

struct Inner {
    ring: BlkRing,
    next_id: u64,
    outstanding: BTreeMap<u64, Option<Waker>>,
    done: BTreeMap<u64, i16>,
    space_waiters: Vec<Waker>,
    pool: Vec<Page>,
    error: Option<BlkfrontError>,
    closing: Option<Pin<Box<dyn Future<Output = XenbusState>>>>,
}

/// A Xen block frontend.
pub struct Blkfront<H: Hypervisor> {
    dev: XenbusDevice<H>,
    port: Port,
    ring_ref: GrantRef,
    info: BlockInfo,
    features: BlkFeatures,
    inner: RefCell<Inner>,
}

impl<H: Hypervisor> core::fmt::Debug for Blkfront<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Blkfront")
            .field("info", &self.info)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
}

/// Copies `dst.len()` bytes from the concatenation of `bufs` at `offset`.
fn gather(bufs: &[&[u8]], mut offset: usize, dst: &mut [u8]) {
    let mut done = 0;
    for b in bufs {
        if done == dst.len() {
            break;
        }
        if offset >= b.len() {
            offset -= b.len();
            continue;
        }
        let n = (b.len() - offset).min(dst.len() - done);
        dst[done..done + n].copy_from_slice(&b[offset..offset + n]);
        done += n;
        offset = 0;
    }
}

/// Copies `src` into the concatenation of `bufs` at `offset`.
fn scatter(bufs: &mut [&mut [u8]], mut offset: usize, src: &[u8]) {
    let mut done = 0;
    for b in bufs.iter_mut() {
        if done == src.len() {
            break;
        }
        if offset >= b.len() {
            offset -= b.len();
            continue;
        }
        let n = (b.len() - offset).min(src.len() - done);
        b[offset..offset + n].copy_from_slice(&src[done..done + n]);
        done += n;
        offset = 0;
    }
}

/// One request on the ring: its pages, grants and place in the transfer.
struct InFlight {
    id: u64,
    pages: Vec<Page>,
    grefs: Vec<GrantRef>,
    offset: usize,
    len: usize,
}

impl<H: Hypervisor + 'static> Blkfront<H> {
    /// Connects to `device/vbd/<id>`: sets up and grants the ring, completes
    /// the xenbus handshake, and reads the disk's geometry and features.
    /// It waits for the backend as long as that takes; bound it with
    /// `mirage_core::timeout` where a missing backend must not stall.
    pub async fn connect(xen: &Xen<H>, id: u32) -> Result<Self, BlkfrontError> {
        let dev = XenbusDevice::open(xen, "vbd", id).await?;
        dev.set_state(XenbusState::Initialising).await?;
        dev.wait_backend(|s| s == XenbusState::InitWait || s == XenbusState::Connected)
            .await?;
        let backend: DomId = dev.backend_id();
        let ring = BlkRing::init(Page::new());
        let ring_ref = xen.grant_page(backend, ring.page(), false)?;
        let port = xen.events().alloc_unbound(backend)?;
        dev.publish(
            &[
                ("ring-ref", format!("{ring_ref}")),
                ("event-channel", format!("{port}")),
                ("protocol", String::from("x86_64-abi")),
            ],
            XenbusState::Initialised,
        )
        .await?;
        dev.wait_backend(|s| s == XenbusState::Connected).await?;
        let sectors512: u64 = dev.read_backend("sectors").await?;
        let sector_size: u32 = match dev.read_backend::<u32>("sector-size").await {
            Ok(s) => s,
            Err(XenbusError::Store(crate::xenstore::XsError::Errno(
                crate::xenstore::Errno::ENOENT,
            ))) => 512,
            Err(e) => return Err(e.into()),
        };
        if !sector_size.is_power_of_two() || !(512..=PAGE_SIZE as u32).contains(&sector_size) {
            return Err(BlkfrontError::BadGeometry(
                "sector-size is not a power of two in 512..=4096",
            ));
        }
        let per = u64::from(sector_size) / BLKIF_SECTOR_SIZE as u64;
        if !sectors512.is_multiple_of(per) {
            return Err(BlkfrontError::BadGeometry(
                "sectors is not a whole number of logical sectors",
            ));
        }
        let info_bits: u32 = match dev.read_backend::<u32>("info").await {
            Ok(v) => v,
            Err(XenbusError::Store(crate::xenstore::XsError::Errno(
                crate::xenstore::Errno::ENOENT,
            ))) => 0,
            Err(e) => return Err(e.into()),
        };
        let mode_ro = matches!(dev.read_backend::<String>("mode").await, Ok(m) if m == "r");
        let features = BlkFeatures {
            flush_cache: dev.backend_feature("feature-flush-cache").await?,
            barrier: dev.backend_feature("feature-barrier").await?,
        };
        dev.set_state(XenbusState::Connected).await?;
        let closing: Pin<Box<dyn Future<Output = XenbusState>>> = Box::pin(dev.backend_closing());
        Ok(Blkfront {
            dev,
            port,
            ring_ref,
            info: BlockInfo {
                sector_size,
                sectors: sectors512 / per,
                read_write: info_bits & VDISK_READONLY == 0 && !mode_ro,
            },
            features,
            inner: RefCell::new(Inner {
                ring,
                next_id: 1,
                outstanding: BTreeMap::new(),
                done: BTreeMap::new(),
                space_waiters: Vec::new(),
                pool: Vec::new(),
                error: None,
                closing: Some(closing),
            }),
        })
    }

    /// What the backend offers.
    pub fn features(&self) -> BlkFeatures {
        self.features
    }

    /// The xenbus device.
    pub fn device(&self) -> &XenbusDevice<H> {
        &self.dev
    }

    /// Why the device is gone, if it is.
    pub fn error(&self) -> Option<BlkfrontError> {
        self.inner.borrow().error.clone()
    }

    /// Closes the device (xenbus close handshake) and revokes the ring grant.
    pub async fn close(self) -> Result<(), BlkfrontError> {
        self.inner.borrow_mut().closing = None;
        self.dev.close().await?;
        let _ = self.dev.xen().grants().end_access(self.ring_ref);
        let _ = self.dev.xen().events().close(self.port);
        Ok(())
    }

    fn fail(inner: &mut Inner, e: BlkfrontError) {
        if inner.error.is_none() {
            inner.error = Some(e);
        }
        for w in inner.outstanding.values_mut().filter_map(Option::take) {
            w.wake();
        }
        for w in inner.space_waiters.drain(..) {
            w.wake();
        }
    }

    /// Collects responses and watches the backend; registers `cx`.
    fn service(&self, cx: &mut core::task::Context<'_>) {
        self.dev.xen().events().register(self.port, cx.waker());
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        if inner.error.is_some() {
            return;
        }
        if let Some(f) = inner.closing.as_mut()
            && f.as_mut().poll(cx).is_ready()
        {
            inner.closing = None;
            Self::fail(inner, BlkfrontError::Closed);
            return;
        }
        let mut any = false;
        loop {
            loop {
                match inner.ring.take_response() {
                    Ok(Some(r)) => match inner.outstanding.remove(&r.id) {
                        Some(w) => {
                            any = true;
                            inner.done.insert(r.id, r.status);
                            if let Some(w) = w {
                                w.wake();
                            }
                        }
                        None => {
                            Self::fail(inner, BlkfrontError::UnknownId(r.id));
                            return;
                        }
                    },
                    Ok(None) => break,
                    Err(e) => {
                        Self::fail(inner, e.into());
                        return;
                    }
                }
            }
            match inner.ring.final_check_for_responses() {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    Self::fail(inner, e.into());
                    return;
                }
            }
        }
        if any {
            for w in inner.space_waiters.drain(..) {
                w.wake();
            }
        }
    }

    fn gone(&self) -> Option<BlockError> {
        self.inner
            .borrow()
            .error
            .as_ref()
            .map(|_| BlockError::Disconnected)
    }

    /// Waits for a free ring slot, then pushes `req` built by `make(id)`.
    async fn submit(&self, make: impl FnOnce(u64) -> BlkifRequest) -> Result<u64, BlockError> {
        poll_fn(|cx| {
            self.service(cx);
            if let Some(e) = self.gone() {
                return Poll::Ready(Err(e));
            }
            let mut inner = self.inner.borrow_mut();
            if inner.ring.is_full() {
                inner.space_waiters.push(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        })
        .await?;
        let notify = {
            let mut inner = self.inner.borrow_mut();
            let id = inner.next_id;
            inner.next_id = inner.next_id.wrapping_add(1).max(1);
            let req = make(id);
            if inner.ring.push_request(&req).is_err() {
                return Err(BlockError::Disconnected);
            }
            inner.outstanding.insert(id, None);
            (id, inner.ring.push_requests_and_check_notify())
        };
        if notify.1
            && let Err(e) = self.dev.xen().events().notify(self.port)
        {
            Self::fail(&mut self.inner.borrow_mut(), e.into());
            return Err(BlockError::Disconnected);
        }
        Ok(notify.0)
    }

    /// Waits for the response to `id`; its status.
    async fn complete(&self, id: u64) -> Result<i16, BlockError> {
        poll_fn(|cx| {
            self.service(cx);
            let mut inner = self.inner.borrow_mut();
            if let Some(s) = inner.done.remove(&id) {
                return Poll::Ready(Ok(s));
            }
            if inner.error.is_some() {
                return Poll::Ready(Err(BlockError::Disconnected));
            }
            if let Some(w) = inner.outstanding.get_mut(&id) {
                *w = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    fn take_page(&self) -> Page {
        self.inner.borrow_mut().pool.pop().unwrap_or_default()
    }

    /// Revokes a finished request's grants and returns its pages to the
    /// pool (pages the backend still maps are not reused).
    fn release(&self, f: &InFlight) {
        let grants = self.dev.xen().grants();
        let mut inner = self.inner.borrow_mut();
        for (page, gref) in f.pages.iter().zip(&f.grefs) {
            if grants.end_access(*gref).is_ok()
                && inner.pool.len() < 2 * BLKIF_MAX_SEGMENTS_PER_REQUEST
            {
                inner.pool.push(page.clone());
            }
        }
    }

    /// Runs one read or write transfer of `total` bytes at 512-byte sector
    /// `start`, `fill` copying data in (writes) and `drain` copying it out
    /// (reads), keeping as many requests in flight as the ring allows.
    async fn transfer(
        &self,
        op: u8,
        start: u64,
        total: usize,
        mut fill: impl FnMut(usize, &mut [u8]),
        mut drain: impl FnMut(usize, &[u8]),
    ) -> Result<(), BlockError> {
        let backend = self.dev.backend_id();
        let readonly = op == BLKIF_OP_WRITE;
        let mut offset = 0;
        let mut in_flight: alloc::collections::VecDeque<InFlight> = Default::default();
        let mut failure: Option<BlockError> = None;
        let mut scratch = alloc::vec![0u8; PAGE_SIZE];
        while offset < total || !in_flight.is_empty() {
            let room = {
                let inner = self.inner.borrow();
                !inner.ring.is_full()
            };
            if offset < total && failure.is_none() && (room || in_flight.is_empty()) {
                let len = (total - offset).min(MAX_REQUEST_BYTES);
                let mut pages = Vec::new();
                let mut grefs = Vec::new();
                let mut segs = [BlkifRequestSegment::default(); BLKIF_MAX_SEGMENTS_PER_REQUEST];
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(PAGE_SIZE);
                    let page = self.take_page();
                    if readonly {
                        fill(offset + done, &mut scratch[..n]);
                        page.write_bytes(0, &scratch[..n]);
                    }
                    let gref = match self.dev.xen().grant_page(backend, &page, readonly) {
                        Ok(g) => g,
                        Err(e) => {
                            failure = Some(BlockError::Io(Box::new(BlkfrontError::Grant(e))));
                            break;
                        }
                    };
                    segs[pages.len()] = BlkifRequestSegment {
                        gref,
                        first_sect: 0,
                        last_sect: (n / BLKIF_SECTOR_SIZE - 1) as u8,
                        pad: 0,
                    };
                    pages.push(page);
                    grefs.push(gref);
                    done += n;
                }
                let f = InFlight {
                    id: 0,
                    pages,
                    grefs,
                    offset,
                    len,
                };
                if failure.is_some() {
                    self.release(&f);
                    continue;
                }
                let nr = f.pages.len() as u8;
                let sector = start + (offset / BLKIF_SECTOR_SIZE) as u64;
                match self
                    .submit(|id| BlkifRequest {
                        operation: op,
                        nr_segments: nr,
                        handle: 0,
                        pad: 0,
                        id,
                        sector_number: sector,
                        seg: segs,
                    })
                    .await
                {
                    Ok(id) => in_flight.push_back(InFlight { id, ..f }),
                    Err(e) => {
                        self.release(&f);
                        failure = Some(e);
                    }
                }
                offset += len;
                continue;
            }
            let Some(f) = in_flight.pop_front() else {
                break;
            };
            let status = self.complete(f.id).await;
            match status {
                Ok(BLKIF_RSP_OKAY) => {
                    if op == BLKIF_OP_READ {
                        let mut done = 0;
                        for page in &f.pages {
                            let n = (f.len - done).min(PAGE_SIZE);
                            page.read_bytes(0, &mut scratch[..n]);
                            drain(f.offset + done, &scratch[..n]);
                            done += n;
                        }
                    }
                }
                Ok(s) => {
                    failure.get_or_insert(BlockError::Io(Box::new(BlkfrontError::Status(s))));
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
            self.release(&f);
            if failure.is_some() {
                // Stop submitting; still wait for what is in flight.
                offset = total;
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<H: Hypervisor + 'static> Block for Blkfront<H> {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buffers: &mut [&mut [u8]]) -> Result<(), BlockError> {
        if let Some(e) = self.gone() {
            return Err(e);
        }
        let count = check_request(&self.info, sector, buffers.iter().map(|b| b.len()), false)?;
        let per = u64::from(self.info.sector_size) / BLKIF_SECTOR_SIZE as u64;
        let total = (count * u64::from(self.info.sector_size)) as usize;
        let bufs = RefCell::new(buffers);
        self.transfer(
            BLKIF_OP_READ,
            sector * per,
            total,
            |_, _| {},
            |off, data| scatter(&mut bufs.borrow_mut(), off, data),
        )
        .await
    }

    async fn write(&self, sector: u64, buffers: &[&[u8]]) -> Result<(), BlockError> {
        if let Some(e) = self.gone() {
            return Err(e);
        }
        let count = check_request(&self.info, sector, buffers.iter().map(|b| b.len()), true)?;
        let per = u64::from(self.info.sector_size) / BLKIF_SECTOR_SIZE as u64;
        let total = (count * u64::from(self.info.sector_size)) as usize;
        self.transfer(
            BLKIF_OP_WRITE,
            sector * per,
            total,
            |off, dst| gather(buffers, off, dst),
            |_, _| {},
        )
        .await
    }

    async fn flush(&self) -> Result<(), BlockError> {
        if let Some(e) = self.gone() {
            return Err(e);
        }
        if !self.info.read_write {
            return Err(BlockError::ReadOnly);
        }
        let op = if self.features.flush_cache {
            BLKIF_OP_FLUSH_DISKCACHE
        } else if self.features.barrier {
            BLKIF_OP_WRITE_BARRIER
        } else {
            // No cache to flush: completed writes are durable.
            return Ok(());
        };
        let id = self
            .submit(|id| BlkifRequest {
                operation: op,
                nr_segments: 0,
                handle: 0,
                pad: 0,
                id,
                sector_number: 0,
                seg: [BlkifRequestSegment::default(); BLKIF_MAX_SEGMENTS_PER_REQUEST],
            })
            .await?;
        match self.complete(id).await? {
            BLKIF_RSP_OKAY => Ok(()),
            s => Err(BlockError::Io(Box::new(BlkfrontError::Status(s)))),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ring_size_matches_blkif_h() {
        assert_eq!(BlkRing::SIZE, 32);
        assert_eq!(MAX_REQUEST_BYTES, 45056);
    }

    #[test]
    fn gather_scatter_cross_buffer_boundaries() {
        let a = [1u8, 2, 3];
        let b = [4u8, 5];
        let c = [6u8, 7, 8, 9];
        let bufs: [&[u8]; 3] = [&a, &b, &c];
        let mut out = [0u8; 5];
        gather(&bufs, 2, &mut out);
        assert_eq!(out, [3, 4, 5, 6, 7]);
        let mut x = [0u8; 3];
        let mut y = [0u8; 2];
        let mut z = [0u8; 4];
        {
            let mut m: [&mut [u8]; 3] = [&mut x, &mut y, &mut z];
            scatter(&mut m, 2, &[9, 9, 9, 9]);
        }
        assert_eq!((x, y, z), ([0, 0, 9], [9, 9], [9, 0, 0, 0]));
    }
}
