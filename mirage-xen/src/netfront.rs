//! [`Netfront`]: a Xen virtual network interface (`io/netif.h`) as a
//! mirage-core [`Network`].
//!
//! Two rings share one event channel. On the receive ring we keep buffers
//! posted: one page per buffer, granted writable to the backend once, which
//! copies each arriving frame into one (`feature-rx-copy`) and answers with
//! its id, offset and length. A receive token lends that page region to the
//! caller and reposts the buffer when consumed. On the transmit ring, a
//! transmit token lends a page of our own; when filled it is granted
//! read-only and sent, and the grant is revoked when the backend answers.
//! A frame is one page unless the backend offers `feature-sg`: then frames
//! up to 65535 bytes travel as page-sized fragments flagged `more_data`
//! (the first transmit request carrying the whole length), and the MTU
//! may go past `4096 - 14` (the `mtu` node, e.g. 9000). Fragmented frames
//! are copied into one buffer for the token; single-page ones are lent in
//! place.
//!
//! A backend that breaks the protocol (response ids out of range or not
//! outstanding, offsets outside the page, ring overruns) or that closes
//! makes the device gone: the link reports [`LinkState::Down`], tokens are
//! no longer handed out, and nothing panics.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::Context;

use mirage_core::network::{
    Capabilities, LinkState, MacAddress, Network, NetworkCounters, RxToken, TxToken,
};

use crate::abi::netif::{
    NETIF_RSP_NULL, NETIF_RSP_OKAY, NETRXF_EXTRA_INFO, NETRXF_MORE_DATA, NETTXF_MORE_DATA,
    NetifRxRequest, NetifRxResponse, NetifTxRequest, NetifTxResponse,
};
use crate::abi::{DomId, GrantRef, Port};
use crate::grant::GrantError;
use crate::guest::Xen;
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::{PAGE_SIZE, Page};
use crate::ring::{FrontRing, RingError};
use crate::xenbus::{XenbusDevice, XenbusError, XenbusState};

/// The transmit ring.
pub type TxRing = FrontRing<NetifTxRequest, NetifTxResponse>;
/// The receive ring.
pub type RxRing = FrontRing<NetifRxRequest, NetifRxResponse>;

/// The largest MTU a one-page frame allows (no `feature-sg`).
pub const MAX_MTU: usize = PAGE_SIZE - Capabilities::ETHERNET_HEADER_LEN;

/// The largest MTU with `feature-sg`: a frame's length is a `u16`.
pub const MAX_MTU_SG: usize = u16::MAX as usize - Capabilities::ETHERNET_HEADER_LEN;

/// Choices for [`Netfront::connect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetfrontOptions {
    /// Receive buffers kept posted (at most the ring size, 256).
    pub rx_buffers: u16,
    /// Frames in flight on the transmit ring (at most 256).
    pub tx_buffers: u16,
    /// The index both rings start at. Xen starts at 0; other values let a
    /// test run the indices across the `u32` wrap-around quickly.
    pub ring_start: u32,
}

impl Default for NetfrontOptions {
    fn default() -> Self {
        NetfrontOptions {
            rx_buffers: 64,
            tx_buffers: 64,
            ring_start: 0,
        }
    }
}

/// Why a network frontend failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetfrontError {
    /// The xenbus handshake failed.
    #[error("xenbus: {0}")]
    Xenbus(#[from] XenbusError),
    /// A hypercall failed.
    #[error("hypercall: {0}")]
    Hypercall(#[from] HypercallError),
    /// Granting a page failed.
    #[error("grant: {0}")]
    Grant(#[from] GrantError),
    /// The backend lacks a feature we need.
    #[error("the backend does not offer {0}")]
    Unsupported(&'static str),
    /// The `mac` node is not a MAC address.
    #[error("the mac node {0:?} is not a MAC address")]
    BadMac(String),
    /// The `mtu` node is not a usable MTU (68 to 4082, or to 65521 with
    /// `feature-sg`).
    #[error("the mtu node {0:?} is not a usable MTU")]
    BadMtu(String),
    /// The backend broke the ring protocol.
    #[error("the backend broke the ring protocol: {0}")]
    Ring(#[from] RingError),
    /// The backend answered a request that is not outstanding.
    #[error("the backend answered unknown {ring} id {id}")]
    UnknownId {
        /// `"rx"` or `"tx"`.
        ring: &'static str,
        /// The id.
        id: u16,
    },
    /// The backend answered with an offset or length outside the buffer.
    #[error("the backend returned a frame at {offset}+{len}, outside the page")]
    BadFrame {
        /// Offset in the page.
        offset: u16,
        /// Length.
        len: u16,
    },
    /// The backend sent flags we did not negotiate (extra info, fragments).
    #[error("the backend sent unnegotiated receive flags {0:#x}")]
    UnexpectedFlags(u16),
    /// The backend chained fragments into a frame longer than 65535 bytes.
    #[error("the backend chained a frame longer than 65535 bytes")]
    FrameTooLong,
    /// The backend closed.
    #[error("the backend closed the device")]
    Closed,
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<MacAddress> {
    let mut mac = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in &mut mac {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(MacAddress(mac))
}

struct RxBuf {
    page: Page,
    gref: GrantRef,
}

/// A received frame: one buffer region, or fragments (`feature-sg`).
enum RxFrame {
    One(u16, u16, u16),
    Chain(Vec<(u16, u16, u16)>),
}

/// The receive half (split from the transmit half so tokens for both can
/// borrow at once).
struct RxPart<H> {
    xen: Xen<H>,
    port: Port,
    ring: RxRing,
    bufs: Vec<RxBuf>,
    posted: Vec<bool>,
    ready: VecDeque<RxFrame>,
    partial: Vec<(u16, u16, u16)>,
    sg: bool,
    error: Option<NetfrontError>,
    packets: u64,
    bytes: u64,
    dropped: u64,
}

struct TxSlot {
    page: Option<Page>,
    gref: Option<GrantRef>,
    in_flight: bool,
}

/// The transmit half.
struct TxPart<H> {
    xen: Xen<H>,
    port: Port,
    backend: DomId,
    ring: TxRing,
    slots: Vec<TxSlot>,
    free: Vec<u16>,
    revoking: Vec<u16>,
    max_frame: usize,
    max_pages: usize,
    error: Option<NetfrontError>,
    packets: u64,
    bytes: u64,
    dropped: u64,
}

/// A Xen network frontend.
pub struct Netfront<H: Hypervisor> {
    dev: XenbusDevice<H>,
    port: Port,
    ring_refs: [GrantRef; 2],
    mac: MacAddress,
    mtu: usize,
    rx: RxPart<H>,
    tx: TxPart<H>,
    closing: Option<Pin<Box<dyn Future<Output = XenbusState>>>>,
    gone: bool,
}

impl<H: Hypervisor> core::fmt::Debug for Netfront<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Netfront")
            .field("frontend", &self.dev.frontend())
            .field("mac", &self.mac)
            .field("gone", &self.gone)
            .finish()
    }
}

fn notify<H: Hypervisor>(xen: &Xen<H>, port: Port) -> Result<(), NetfrontError> {
    Ok(xen.events().notify(port)?)
}

impl<H: Hypervisor> RxPart<H> {
    fn post(&mut self, id: u16) -> Result<(), NetfrontError> {
        let gref = self.bufs[id as usize].gref;
        self.ring
            .push_request(&NetifRxRequest { id, pad: 0, gref })
            .map_err(|_| RingError::Overrun {
                prod: self.ring.req_prod_pvt(),
                cons: self.ring.rsp_cons(),
                ahead: self.ring.outstanding(),
                limit: self.ring.size(),
            })?;
        self.posted[id as usize] = true;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), NetfrontError> {
        if self.ring.push_requests_and_check_notify() {
            notify(&self.xen, self.port)?;
        }
        Ok(())
    }

    fn collect(&mut self) -> Result<(), NetfrontError> {
        loop {
            while let Some(r) = self.ring.take_response()? {
                let id = r.id;
                if !self.posted.get(id as usize).copied().unwrap_or(false) {
                    return Err(NetfrontError::UnknownId { ring: "rx", id });
                }
                self.posted[id as usize] = false;
                let more = r.flags & NETRXF_MORE_DATA != 0;
                if r.flags & NETRXF_EXTRA_INFO != 0 || (more && !self.sg) {
                    return Err(NetfrontError::UnexpectedFlags(r.flags));
                }
                if r.status <= NETIF_RSP_OKAY {
                    // An error or empty response: the buffer (and any
                    // fragments before it) come back unused.
                    self.dropped += 1;
                    for (p, _, _) in core::mem::take(&mut self.partial) {
                        self.post(p)?;
                    }
                    self.post(id)?;
                    continue;
                }
                let len = r.status as u16;
                if usize::from(r.offset) + usize::from(len) > PAGE_SIZE {
                    return Err(NetfrontError::BadFrame {
                        offset: r.offset,
                        len,
                    });
                }
                if more || !self.partial.is_empty() {
                    self.partial.push((id, r.offset, len));
                    let total: usize = self.partial.iter().map(|p| usize::from(p.2)).sum();
                    if total > usize::from(u16::MAX) {
                        return Err(NetfrontError::FrameTooLong);
                    }
                    if !more {
                        self.ready
                            .push_back(RxFrame::Chain(core::mem::take(&mut self.partial)));
                    }
                } else {
                    self.ready.push_back(RxFrame::One(id, r.offset, len));
                }
            }
            if !self.ring.final_check_for_responses()? {
                break;
            }
        }
        self.flush()
    }
}

impl<H: Hypervisor> TxPart<H> {
    fn collect(&mut self) -> Result<(), NetfrontError> {
        loop {
            while let Some(r) = self.ring.take_response()? {
                let id = r.id;
                match self.slots.get_mut(id as usize) {
                    Some(s) if s.in_flight => s.in_flight = false,
                    _ => return Err(NetfrontError::UnknownId { ring: "tx", id }),
                }
                if r.status != NETIF_RSP_OKAY && r.status != NETIF_RSP_NULL {
                    self.dropped += 1;
                }
                self.revoking.push(id);
            }
            if !self.ring.final_check_for_responses()? {
                break;
            }
        }
        // Revoke grants; a backend still mapping a page keeps its slot busy.
        let mut still = Vec::new();
        for id in self.revoking.drain(..) {
            let slot = &mut self.slots[id as usize];
            match slot.gref.map(|g| self.xen.grants().end_access(g)) {
                Some(Err(GrantError::InUse(_))) => still.push(id),
                _ => {
                    slot.gref = None;
                    self.free.push(id);
                }
            }
        }
        self.revoking = still;
        Ok(())
    }

    fn can_send(&self) -> bool {
        self.error.is_none()
            && self.free.len() >= self.max_pages
            && self.ring.free_requests() as usize >= self.max_pages
    }

    /// Takes a free slot and zeroes `len` bytes of its page.
    fn prepare(&mut self, len: usize) -> Option<(u16, Page)> {
        let id = self.free.pop()?;
        let slot = &mut self.slots[id as usize];
        let page = slot.page.get_or_insert_with(Page::new).clone();
        page.fill(0, len, 0);
        Some((id, page))
    }

    /// Grants the filled slots (read-only) and puts them on the ring as
    /// one frame of `total` bytes, fragments flagged `NETTXF_more_data`.
    /// Out of grant references, the frame is dropped and the device kept.
    fn commit(&mut self, parts: &[(u16, Page, usize)], total: usize) -> Result<(), NetfrontError> {
        let mut grefs = Vec::with_capacity(parts.len());
        for (_, page, _) in parts {
            match self.xen.grants().grant_access(
                self.backend,
                self.xen.hypervisor().frame_of(page),
                true,
            ) {
                Ok(g) => grefs.push(g),
                Err(_) => {
                    for g in grefs {
                        let _ = self.xen.grants().end_access(g);
                    }
                    self.free.extend(parts.iter().map(|p| p.0));
                    self.dropped += 1;
                    return Ok(());
                }
            }
        }
        let last = parts.len() - 1;
        for (i, ((id, _, len), gref)) in parts.iter().zip(grefs).enumerate() {
            let slot = &mut self.slots[*id as usize];
            slot.gref = Some(gref);
            slot.in_flight = true;
            let req = NetifTxRequest {
                gref,
                offset: 0,
                flags: if i < last { NETTXF_MORE_DATA } else { 0 },
                id: *id,
                size: if i == 0 { total as u16 } else { *len as u16 },
            };
            if self.ring.push_request(&req).is_err() {
                return Err(NetfrontError::Ring(RingError::Overrun {
                    prod: self.ring.req_prod_pvt(),
                    cons: self.ring.rsp_cons(),
                    ahead: self.ring.outstanding(),
                    limit: self.ring.size(),
                }));
            }
        }
        if self.ring.push_requests_and_check_notify() {
            notify(&self.xen, self.port)?;
        }
        self.packets += 1;
        self.bytes += total as u64;
        Ok(())
    }

    /// Sends a frame longer than a page as page-sized fragments.
    fn send_chain(&mut self, data: &[u8]) -> Result<(), NetfrontError> {
        let n = data.len().div_ceil(PAGE_SIZE);
        if self.free.len() < n || (self.ring.free_requests() as usize) < n {
            self.dropped += 1;
            return Ok(());
        }
        let mut parts = Vec::with_capacity(n);
        for chunk in data.chunks(PAGE_SIZE) {
            let Some((id, page)) = self.prepare(0) else {
                break;
            };
            page.write_bytes(0, chunk);
            parts.push((id, page, chunk.len()));
        }
        self.commit(&parts, data.len())
    }
}

impl<H: Hypervisor + 'static> Netfront<H> {
    /// Connects to `device/vif/<id>`: reads the MAC and MTU, sets up and
    /// grants both rings, posts receive buffers and completes the xenbus
    /// handshake. It waits for the backend as long as that takes; bound it
    /// with `mirage_core::timeout` where a missing backend must not stall.
    pub async fn connect(
        xen: &Xen<H>,
        id: u32,
        options: NetfrontOptions,
    ) -> Result<Self, NetfrontError> {
        let dev = XenbusDevice::open(xen, "vif", id).await?;
        let mac_s = dev
            .read_frontend_opt("mac")
            .await?
            .ok_or(NetfrontError::BadMac(String::new()))?;
        let mac = parse_mac(&mac_s).ok_or(NetfrontError::BadMac(mac_s))?;
        let mtu_node = dev.read_frontend_opt("mtu").await?;
        dev.set_state(XenbusState::Initialising).await?;
        dev.wait_backend(|s| s == XenbusState::InitWait || s == XenbusState::Connected)
            .await?;
        if !dev.backend_feature("feature-rx-copy").await? {
            return Err(NetfrontError::Unsupported("feature-rx-copy"));
        }
        let sg = dev.backend_feature("feature-sg").await?;
        let max_mtu = if sg { MAX_MTU_SG } else { MAX_MTU };
        let mtu = match mtu_node {
            None => 1500,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(m) if (68..=max_mtu).contains(&m) => m,
                _ => return Err(NetfrontError::BadMtu(s)),
            },
        };
        let max_frame = mtu + Capabilities::ETHERNET_HEADER_LEN;
        let max_pages = max_frame.div_ceil(PAGE_SIZE);
        let backend = dev.backend_id();
        let tx_ring = TxRing::init_at(Page::new(), options.ring_start);
        let rx_ring = RxRing::init_at(Page::new(), options.ring_start);
        let tx_ref = xen.grant_page(backend, tx_ring.page(), false)?;
        let rx_ref = xen.grant_page(backend, rx_ring.page(), false)?;
        let port = xen.events().alloc_unbound(backend)?;

        let n_rx = options.rx_buffers.clamp(1, rx_ring.size() as u16);
        let n_tx = options
            .tx_buffers
            .clamp(max_pages as u16, tx_ring.size() as u16);
        let mut bufs = Vec::with_capacity(n_rx as usize);
        for _ in 0..n_rx {
            let page = Page::new();
            let gref = xen.grant_page(backend, &page, false)?;
            bufs.push(RxBuf { page, gref });
        }
        let mut rx = RxPart {
            xen: xen.clone(),
            port,
            ring: rx_ring,
            bufs,
            posted: vec![false; n_rx as usize],
            ready: VecDeque::new(),
            partial: Vec::new(),
            sg,
            error: None,
            packets: 0,
            bytes: 0,
            dropped: 0,
        };
        for id in 0..n_rx {
            rx.post(id)?;
        }
        rx.ring.push_requests_and_check_notify();
        let tx = TxPart {
            xen: xen.clone(),
            port,
            backend,
            ring: tx_ring,
            slots: (0..n_tx)
                .map(|_| TxSlot {
                    page: None,
                    gref: None,
                    in_flight: false,
                })
                .collect(),
            free: (0..n_tx).rev().collect(),
            revoking: Vec::new(),
            max_frame,
            max_pages,
            error: None,
            packets: 0,
            bytes: 0,
            dropped: 0,
        };
        dev.publish(
            &[
                ("tx-ring-ref", format!("{tx_ref}")),
                ("rx-ring-ref", format!("{rx_ref}")),
                ("event-channel", format!("{port}")),
                ("request-rx-copy", String::from("1")),
                ("feature-rx-notify", String::from("1")),
                ("feature-no-csum-offload", String::from("1")),
                ("feature-sg", String::from(if sg { "1" } else { "0" })),
            ],
            XenbusState::Connected,
        )
        .await?;
        dev.wait_backend(|s| s == XenbusState::Connected).await?;
        let closing = Box::pin(dev.backend_closing());
        Ok(Netfront {
            dev,
            port,
            ring_refs: [tx_ref, rx_ref],
            mac,
            mtu,
            rx,
            tx,
            closing: Some(closing),
            gone: false,
        })
    }

    /// The xenbus device.
    pub fn device(&self) -> &XenbusDevice<H> {
        &self.dev
    }

    /// Why the device is gone, if it is.
    pub fn error(&self) -> Option<&NetfrontError> {
        self.rx.error.as_ref().or(self.tx.error.as_ref())
    }

    /// Whether the device is gone (backend closed or misbehaved).
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Closes the device: the xenbus close handshake, then revoking the
    /// ring and buffer grants the backend no longer maps.
    pub async fn close(mut self) -> Result<(), NetfrontError> {
        self.closing = None;
        self.dev.close().await?;
        let grants = self.dev.xen().grants().clone();
        // A grant the backend still maps stays (and is leaked) rather
        // than be reused under it.
        for r in self.ring_refs {
            let _ = grants.end_access(r);
        }
        for b in &self.rx.bufs {
            let _ = grants.end_access(b.gref);
        }
        for s in &self.tx.slots {
            if let Some(g) = s.gref {
                let _ = grants.end_access(g);
            }
        }
        let _ = self.dev.xen().events().close(self.port);
        Ok(())
    }

    fn fail(&mut self, e: NetfrontError) {
        if self.rx.error.is_none() {
            self.rx.error = Some(e);
        }
        self.gone = true;
    }

    /// Polls the backend-closing watch and both rings; registers `cx`.
    fn service(&mut self, cx: &mut Context<'_>) {
        if self.gone {
            return;
        }
        if let Some(f) = self.closing.as_mut()
            && f.as_mut().poll(cx).is_ready()
        {
            self.closing = None;
            self.fail(NetfrontError::Closed);
            return;
        }
        self.dev.xen().events().register(self.port, cx.waker());
        if let Err(e) = self.tx.collect() {
            self.tx.error = Some(e.clone());
            self.fail(e);
            return;
        }
        if let Err(e) = self.rx.collect() {
            self.fail(e);
        }
    }
}

/// A received frame, lent from its receive buffer.
pub struct NetfrontRxToken<'a, H: Hypervisor> {
    rx: &'a mut RxPart<H>,
}

/// Room to send one frame.
pub struct NetfrontTxToken<'a, H: Hypervisor> {
    tx: &'a mut TxPart<H>,
}

impl<H: Hypervisor> RxToken for NetfrontRxToken<'_, H> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        let (id, offset, len) = match self.rx.ready.pop_front() {
            Some(RxFrame::One(id, offset, len)) => (id, offset, len),
            Some(RxFrame::Chain(parts)) => {
                let mut frame = Vec::new();
                for &(id, offset, len) in &parts {
                    let start = frame.len();
                    frame.resize(start + usize::from(len), 0);
                    self.rx.bufs[id as usize]
                        .page
                        .read_bytes(usize::from(offset), &mut frame[start..]);
                }
                let r = f(&mut frame);
                self.rx.packets += 1;
                self.rx.bytes += frame.len() as u64;
                let res = parts
                    .iter()
                    .try_for_each(|&(id, _, _)| self.rx.post(id))
                    .and_then(|()| self.rx.flush());
                if let Err(e) = res {
                    self.rx.error.get_or_insert(e);
                }
                return r;
            }
            // Tokens are only made with a frame ready.
            None => return f(&mut []),
        };
        let page = self.rx.bufs[id as usize].page.clone();
        // SAFETY: the backend answered for this buffer and it is not posted,
        // so the backend does not write it until we post it again below; no
        // other handle to the page is used while `f` runs.
        let r = unsafe { page.with_slice_mut(usize::from(offset), usize::from(len), f) };
        self.rx.packets += 1;
        self.rx.bytes += u64::from(len);
        let res = self.rx.post(id).and_then(|()| self.rx.flush());
        if let Err(e) = res {
            self.rx.error.get_or_insert(e);
        }
        r
    }
}

impl<H: Hypervisor> TxToken for NetfrontTxToken<'_, H> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if len == 0 || len > self.tx.max_frame {
            self.tx.dropped += 1;
            let mut scratch = vec![0u8; len];
            return f(&mut scratch);
        }
        if len > PAGE_SIZE {
            // Only reachable with feature-sg (max_frame caps it otherwise).
            let mut frame = vec![0u8; len];
            let r = f(&mut frame);
            if let Err(e) = self.tx.send_chain(&frame) {
                self.tx.error.get_or_insert(e);
            }
            return r;
        }
        let Some((id, page)) = self.tx.prepare(len) else {
            self.tx.dropped += 1;
            return f(&mut vec![0u8; len]);
        };
        // SAFETY: the slot was free: its grant is revoked (or was never
        // made), so no other domain can access the page, and no other
        // handle to it is used while `f` runs.
        let r = unsafe { page.with_slice_mut(0, len, f) };
        if let Err(e) = self.tx.commit(&[(id, page, len)], len) {
            self.tx.error.get_or_insert(e);
        }
        r
    }
}

impl<H: Hypervisor + 'static> Network for Netfront<H> {
    type RxToken<'a>
        = NetfrontRxToken<'a, H>
    where
        Self: 'a;
    type TxToken<'a>
        = NetfrontTxToken<'a, H>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.service(cx);
        if self.gone || self.rx.error.is_some() || self.tx.error.is_some() {
            self.gone = true;
            return None;
        }
        if self.rx.ready.is_empty() || !self.tx.can_send() {
            return None;
        }
        Some((
            NetfrontRxToken { rx: &mut self.rx },
            NetfrontTxToken { tx: &mut self.tx },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        self.service(cx);
        if self.gone || self.rx.error.is_some() || self.tx.error.is_some() {
            self.gone = true;
            return None;
        }
        self.tx
            .can_send()
            .then_some(NetfrontTxToken { tx: &mut self.tx })
    }

    fn link_state(&mut self, cx: &mut Context<'_>) -> LinkState {
        self.service(cx);
        if self.gone || self.rx.error.is_some() || self.tx.error.is_some() {
            self.gone = true;
            LinkState::Down
        } else {
            LinkState::Up
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::with_mtu(self.mtu)
    }

    fn mac_address(&self) -> MacAddress {
        self.mac
    }

    fn counters(&self) -> NetworkCounters {
        NetworkCounters {
            rx_packets: self.rx.packets,
            rx_bytes: self.rx.bytes,
            rx_dropped: self.rx.dropped,
            tx_packets: self.tx.packets,
            tx_bytes: self.tx.bytes,
            tx_dropped: self.tx.dropped,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ring_sizes_match_netif_h() {
        assert_eq!(TxRing::SIZE, 256);
        assert_eq!(RxRing::SIZE, 256);
    }

    #[test]
    fn mac_parsing() {
        assert_eq!(
            parse_mac("00:16:3e:01:02:ff"),
            Some(MacAddress([0, 0x16, 0x3e, 1, 2, 0xff]))
        );
        for bad in [
            "",
            "00:16:3e:01:02",
            "00:16:3e:01:02:03:04",
            "0:16:3e:01:02:03",
            "zz:16:3e:01:02:03",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
