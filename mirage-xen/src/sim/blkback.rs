//! A simulated blkback: the dom0 end of a vbd, backed by a byte vector.
//!
//! It publishes `sectors` (512-byte units), `sector-size`, `info` and the
//! flush feature, maps the frontend's ring and serves reads, writes and
//! flushes by mapping each segment's grant. Requests it cannot serve
//! (segments out of bounds, ranges past the end, writes to a read-only
//! disk, unknown operations) get an error status, as blkback answers them.

use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Poll, Waker};

use super::SimDomain;
use super::host::SimHost;
use crate::abi::blkif::{
    BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE,
    BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY,
    BLKIF_SECTOR_SIZE, BlkifRequest, BlkifResponse, VDISK_READONLY,
};
use crate::abi::{DomId, Port};
use crate::evtchn::EventChannels;
use crate::ring::{BackRing, RingError};
use crate::sim::xenstored::Xenstored;

/// How a simulated disk looks to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskConfig {
    /// Logical sector size (512 or 4096).
    pub sector_size: u32,
    /// Refuse writes.
    pub read_only: bool,
    /// Advertise `feature-flush-cache`.
    pub flush: bool,
    /// Advertise `feature-barrier`.
    pub barrier: bool,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            sector_size: 512,
            read_only: false,
            flush: true,
            barrier: false,
        }
    }
}

#[derive(Default)]
struct Shared {
    disk: Vec<u8>,
    waker: Option<Waker>,
    close: bool,
    paused: bool,
    port: Option<Port>,
    connected: bool,
    closed: bool,
    flushes: u64,
    requests: u64,
    max_segments_seen: u8,
    errors: u64,
}

/// The test's handle on a simulated blkback.
#[derive(Clone)]
pub struct Blkback {
    shared: Rc<RefCell<Shared>>,
}

impl core::fmt::Debug for Blkback {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Blkback")
    }
}

impl Blkback {
    /// The disk's current contents.
    pub fn disk(&self) -> Vec<u8> {
        self.shared.borrow().disk.clone()
    }

    /// Flush requests served.
    pub fn flushes(&self) -> u64 {
        self.shared.borrow().flushes
    }

    /// Requests served.
    pub fn requests(&self) -> u64 {
        self.shared.borrow().requests
    }

    /// The most segments one request carried.
    pub fn max_segments_seen(&self) -> u8 {
        self.shared.borrow().max_segments_seen
    }

    /// Requests answered with an error.
    pub fn errors(&self) -> u64 {
        self.shared.borrow().errors
    }

    /// Whether the handshake completed.
    pub fn is_connected(&self) -> bool {
        self.shared.borrow().connected
    }

    /// Whether the backend has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().closed
    }

    /// Dom0's end of the device's event channel, once bound.
    pub fn port(&self) -> Option<Port> {
        self.shared.borrow().port
    }

    /// Stops (or resumes) serving the ring.
    pub fn set_paused(&self, paused: bool) {
        let w = {
            let mut s = self.shared.borrow_mut();
            s.paused = paused;
            s.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Makes the backend close the device.
    pub fn close(&self) {
        let w = {
            let mut s = self.shared.borrow_mut();
            s.close = true;
            s.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

struct Ctx {
    store: Xenstored,
    dom0: SimDomain,
    events: Rc<EventChannels<SimDomain>>,
    guest: DomId,
    fe: String,
    be: String,
    config: DiskConfig,
}

impl Ctx {
    fn set_state(&self, s: u32) {
        self.store
            .write(&format!("{}/state", self.be), format!("{s}").as_bytes());
    }

    fn fe_u32(&self, key: &str) -> Option<u32> {
        self.store
            .read_string(&format!("{}/{key}", self.fe))?
            .trim()
            .parse()
            .ok()
    }
}

/// Creates vbd `devid` for `guest` holding `disk` (a whole number of
/// sectors) and starts its backend on the host's executor.
pub fn add_vbd(
    host: &SimHost,
    guest: DomId,
    devid: u32,
    disk: Vec<u8>,
    config: DiskConfig,
) -> Blkback {
    let store = host.store().clone();
    let fe = format!("/local/domain/{guest}/device/vbd/{devid}");
    let be = format!("/local/domain/0/backend/vbd/{guest}/{devid}");
    for (k, v) in [
        ("backend", be.as_str()),
        ("backend-id", "0"),
        ("state", "1"),
        ("virtual-device", &format!("{devid}")),
    ] {
        store.write(&format!("{fe}/{k}"), v.as_bytes());
    }
    for (k, v) in [
        ("frontend", fe.as_str()),
        ("frontend-id", &format!("{guest}")),
        ("state", "1"),
        ("mode", if config.read_only { "r" } else { "w" }),
    ] {
        store.write(&format!("{be}/{k}"), v.as_bytes());
    }
    let handle = Blkback {
        shared: Rc::new(RefCell::new(Shared {
            disk,
            ..Shared::default()
        })),
    };
    let ctx = Ctx {
        store,
        dom0: host.dom0().clone(),
        events: host.events().clone(),
        guest,
        fe,
        be,
        config,
    };
    host.spawn(run(ctx, handle.clone()));
    handle
}

type Ring = BackRing<BlkifRequest, BlkifResponse>;

async fn run(ctx: Ctx, bb: Blkback) {
    ctx.set_state(2);
    let s = ctx
        .store
        .wait_for(&format!("{}/state", ctx.fe), |s| {
            matches!(s, "3" | "4" | "5" | "6")
        })
        .await;
    let setup = (s == "3" || s == "4")
        .then(|| Some((ctx.fe_u32("ring-ref")?, ctx.fe_u32("event-channel")?)))
        .flatten();
    let Some((ring_ref, evtchn)) = setup else {
        ctx.set_state(6);
        bb.shared.borrow_mut().closed = true;
        return;
    };
    let Ok(map) = ctx.dom0.map_grant(ctx.guest, ring_ref, false) else {
        ctx.set_state(6);
        bb.shared.borrow_mut().closed = true;
        return;
    };
    let Ok(port) = ctx.events.bind_interdomain(ctx.guest, evtchn) else {
        ctx.set_state(6);
        bb.shared.borrow_mut().closed = true;
        return;
    };
    bb.shared.borrow_mut().port = Some(port);
    let mut ring = Ring::attach(map.page().clone());
    let len = bb.shared.borrow().disk.len();
    for (k, v) in [
        ("sectors", format!("{}", len / BLKIF_SECTOR_SIZE)),
        ("sector-size", format!("{}", ctx.config.sector_size)),
        (
            "info",
            format!(
                "{}",
                if ctx.config.read_only {
                    VDISK_READONLY
                } else {
                    0
                }
            ),
        ),
        (
            "feature-flush-cache",
            String::from(if ctx.config.flush { "1" } else { "0" }),
        ),
        (
            "feature-barrier",
            String::from(if ctx.config.barrier { "1" } else { "0" }),
        ),
    ] {
        ctx.store.write(&format!("{}/{k}", ctx.be), v.as_bytes());
    }
    ctx.set_state(4);
    bb.shared.borrow_mut().connected = true;

    poll_fn(|cx| {
        ctx.events.register(port, cx.waker());
        bb.shared.borrow_mut().waker = Some(cx.waker().clone());
        if bb.shared.borrow().close {
            return Poll::Ready(());
        }
        // The frontend closing (or its directory vanishing) ends the device.
        ctx.store.register_change(cx.waker());
        let fe_state = ctx.store.read_string(&format!("{}/state", ctx.fe));
        if !matches!(fe_state.as_deref(), Some("1" | "2" | "3" | "4")) {
            return Poll::Ready(());
        }
        if bb.shared.borrow().paused {
            return Poll::Pending;
        }
        match serve(&ctx, &bb, &mut ring) {
            Ok(notify) => {
                if notify {
                    let _ = ctx.events.notify(port);
                }
                Poll::Pending
            }
            Err(_) => Poll::Ready(()),
        }
    })
    .await;

    ctx.set_state(5);
    drop(map);
    let _ = ctx.events.close(port);
    ctx.set_state(6);
    let mut s = bb.shared.borrow_mut();
    s.connected = false;
    s.closed = true;
}

fn serve(ctx: &Ctx, bb: &Blkback, ring: &mut Ring) -> Result<bool, RingError> {
    let mut notify = false;
    loop {
        while let Some(req) = ring.take_request()? {
            let status = handle(ctx, bb, &req);
            let mut s = bb.shared.borrow_mut();
            s.requests += 1;
            s.max_segments_seen = s.max_segments_seen.max(req.nr_segments);
            if status != BLKIF_RSP_OKAY {
                s.errors += 1;
            }
            drop(s);
            let _ = ring.push_response(&BlkifResponse {
                id: req.id,
                operation: req.operation,
                status,
            });
        }
        notify |= ring.push_responses_and_check_notify();
        if !ring.final_check_for_requests()? {
            break;
        }
    }
    Ok(notify)
}

fn handle(ctx: &Ctx, bb: &Blkback, req: &BlkifRequest) -> i16 {
    match req.operation {
        BLKIF_OP_FLUSH_DISKCACHE | BLKIF_OP_WRITE_BARRIER => {
            if ctx.config.read_only {
                return BLKIF_RSP_ERROR;
            }
            if req.operation == BLKIF_OP_FLUSH_DISKCACHE && !ctx.config.flush
                || req.operation == BLKIF_OP_WRITE_BARRIER && !ctx.config.barrier
            {
                return BLKIF_RSP_EOPNOTSUPP;
            }
            bb.shared.borrow_mut().flushes += 1;
            BLKIF_RSP_OKAY
        }
        BLKIF_OP_READ | BLKIF_OP_WRITE => {
            let write = req.operation == BLKIF_OP_WRITE;
            if write && ctx.config.read_only {
                return BLKIF_RSP_ERROR;
            }
            let n = usize::from(req.nr_segments);
            if n == 0 || n > BLKIF_MAX_SEGMENTS_PER_REQUEST {
                return BLKIF_RSP_ERROR;
            }
            let segs = &req.seg[..n];
            if segs
                .iter()
                .any(|s| s.first_sect > s.last_sect || s.last_sect > 7)
            {
                return BLKIF_RSP_ERROR;
            }
            let total: u64 = segs
                .iter()
                .map(|s| u64::from(s.last_sect - s.first_sect) + 1)
                .sum();
            let disk_sectors = (bb.shared.borrow().disk.len() / BLKIF_SECTOR_SIZE) as u64;
            let align = u64::from(ctx.config.sector_size) / BLKIF_SECTOR_SIZE as u64;
            let end = req.sector_number.checked_add(total);
            if end.is_none_or(|e| e > disk_sectors)
                || !req.sector_number.is_multiple_of(align)
                || !total.is_multiple_of(align)
            {
                return BLKIF_RSP_ERROR;
            }
            let mut pos = req.sector_number as usize * BLKIF_SECTOR_SIZE;
            for s in segs {
                let off = usize::from(s.first_sect) * BLKIF_SECTOR_SIZE;
                let len = (usize::from(s.last_sect - s.first_sect) + 1) * BLKIF_SECTOR_SIZE;
                let Ok(m) = ctx.dom0.map_grant(ctx.guest, s.gref, write) else {
                    return BLKIF_RSP_ERROR;
                };
                let mut sh = bb.shared.borrow_mut();
                if write {
                    m.page().read_bytes(off, &mut sh.disk[pos..pos + len]);
                } else {
                    m.page().write_bytes(off, &sh.disk[pos..pos + len]);
                }
                pos += len;
            }
            BLKIF_RSP_OKAY
        }
        _ => BLKIF_RSP_EOPNOTSUPP,
    }
}
