//! A simulated netback: the dom0 end of a vif, in copy mode.
//!
//! It does the backend half of the xenbus handshake, maps the two rings
//! the frontend granted, copies each transmitted frame out of the granted
//! page (`GNTTABOP_copy`) into a queue the test reads ([`Netback::recv`]),
//! and copies frames the test injects ([`Netback::send`]) into posted
//! receive buffers. Frames wait while no buffer is posted, as on a busy
//! host. It can be paused (rings fill up) and closed (the frontend sees
//! the device go).

use alloc::collections::VecDeque;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::{Context, Poll, Waker};

use mirage_core::network::{
    Capabilities, LinkState, MacAddress, Network, NetworkCounters, RxToken, TxToken,
};

use super::host::SimHost;
use super::{GrantMapping, SimDomain};
use crate::abi::netif::{
    NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETRXF_MORE_DATA, NETTXF_EXTRA_INFO, NETTXF_MORE_DATA,
    NetifRxRequest, NetifRxResponse, NetifTxRequest, NetifTxResponse,
};
use crate::abi::{DomId, Port};
use crate::evtchn::EventChannels;
use crate::page::PAGE_SIZE;
use crate::ring::BackRing;
use crate::sim::xenstored::Xenstored;

/// Frames queued towards the guest beyond which new ones are dropped.
pub const TO_GUEST_QUEUE: usize = 4096;

#[derive(Default)]
struct Shared {
    to_guest: VecDeque<Vec<u8>>,
    from_guest: VecDeque<Vec<u8>>,
    backend_waker: Option<Waker>,
    test_waker: Option<Waker>,
    paused: bool,
    close: bool,
    connected: bool,
    closed: bool,
    tx_errors: u64,
    dropped_to_guest: u64,
    space_waker: Option<Waker>,
}

/// The test's handle on a simulated netback.
#[derive(Clone)]
pub struct Netback {
    shared: Rc<RefCell<Shared>>,
}

impl core::fmt::Debug for Netback {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Netback")
    }
}

impl Netback {
    fn kick(&self) {
        if let Some(w) = self.shared.borrow_mut().backend_waker.take() {
            w.wake();
        }
    }

    /// Queues a frame for the guest.
    pub fn send(&self, frame: Vec<u8>) {
        {
            let mut s = self.shared.borrow_mut();
            if s.to_guest.len() >= TO_GUEST_QUEUE {
                s.dropped_to_guest += 1;
                return;
            }
            s.to_guest.push_back(frame);
        }
        self.kick();
    }

    /// Takes a frame the guest sent, if any.
    pub fn try_recv(&self) -> Option<Vec<u8>> {
        self.shared.borrow_mut().from_guest.pop_front()
    }

    /// Waits for a frame from the guest.
    pub async fn recv(&self) -> Vec<u8> {
        poll_fn(|cx| {
            let mut s = self.shared.borrow_mut();
            match s.from_guest.pop_front() {
                Some(f) => Poll::Ready(f),
                None => {
                    s.test_waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Frames waiting for a receive buffer in the guest.
    pub fn queued_to_guest(&self) -> usize {
        self.shared.borrow().to_guest.len()
    }

    /// Stops (or resumes) processing both rings.
    pub fn set_paused(&self, paused: bool) {
        self.shared.borrow_mut().paused = paused;
        self.kick();
    }

    /// Makes the backend close the device (state Closing, then Closed).
    pub fn close(&self) {
        self.shared.borrow_mut().close = true;
        self.kick();
    }

    /// Whether the handshake completed.
    pub fn is_connected(&self) -> bool {
        self.shared.borrow().connected
    }

    /// Whether the backend has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().closed
    }

    /// Transmit requests answered with an error.
    pub fn tx_errors(&self) -> u64 {
        self.shared.borrow().tx_errors
    }

    /// The host side of the vif as a [`Network`]: what the guest sends is
    /// received here, what is sent here reaches the guest. Attach a second
    /// stack to it to talk to the guest over the simulated bridge. (Use
    /// either this or [`Netback::recv`], not both.)
    pub fn port(&self, mac: MacAddress) -> NetbackPort {
        NetbackPort {
            nb: self.clone(),
            mac,
            counters: NetworkCounters::default(),
        }
    }
}

/// The host side of a simulated vif, as a [`Network`].
pub struct NetbackPort {
    nb: Netback,
    mac: MacAddress,
    counters: NetworkCounters,
}

impl core::fmt::Debug for NetbackPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "NetbackPort({})", self.mac)
    }
}

/// A frame the guest sent.
pub struct PortRx {
    frame: Vec<u8>,
}

impl RxToken for PortRx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.frame)
    }
}

/// Room to send a frame to the guest.
pub struct PortTx<'a> {
    nb: &'a Netback,
    counters: &'a mut NetworkCounters,
}

impl TxToken for PortTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = alloc::vec![0u8; len];
        let r = f(&mut frame);
        if len > PAGE_SIZE {
            self.counters.tx_dropped += 1;
        } else {
            self.counters.tx_packets += 1;
            self.counters.tx_bytes += len as u64;
            self.nb.send(frame);
        }
        r
    }
}

impl Network for NetbackPort {
    type RxToken<'a> = PortRx;
    type TxToken<'a> = PortTx<'a>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = {
            let mut s = self.nb.shared.borrow_mut();
            if s.to_guest.len() >= TO_GUEST_QUEUE {
                s.space_waker = Some(cx.waker().clone());
                return None;
            }
            match s.from_guest.pop_front() {
                Some(f) => f,
                None => {
                    s.test_waker = Some(cx.waker().clone());
                    return None;
                }
            }
        };
        self.counters.rx_packets += 1;
        self.counters.rx_bytes += frame.len() as u64;
        Some((
            PortRx { frame },
            PortTx {
                nb: &self.nb,
                counters: &mut self.counters,
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        let mut s = self.nb.shared.borrow_mut();
        if s.to_guest.len() >= TO_GUEST_QUEUE {
            s.space_waker = Some(cx.waker().clone());
            return None;
        }
        drop(s);
        Some(PortTx {
            nb: &self.nb,
            counters: &mut self.counters,
        })
    }

    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        if self.nb.is_closed() {
            LinkState::Down
        } else {
            LinkState::Up
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::with_mtu(1500)
    }

    fn mac_address(&self) -> MacAddress {
        self.mac
    }

    fn counters(&self) -> NetworkCounters {
        self.counters
    }
}

/// How a simulated vif looks to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VifConfig {
    /// Advertise `feature-sg` (frames spanning several pages).
    pub sg: bool,
    /// The `mtu` node written for the frontend, if any.
    pub mtu: Option<u32>,
}

impl Default for VifConfig {
    fn default() -> Self {
        VifConfig {
            sg: true,
            mtu: None,
        }
    }
}

struct Ctx {
    config: VifConfig,
    store: Xenstored,
    dom0: SimDomain,
    events: Rc<EventChannels<SimDomain>>,
    guest: DomId,
    fe: String,
    be: String,
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

/// Creates vif `devid` for `guest` (the toolstack's XenStore entries) and
/// starts its backend on the host's executor.
pub fn add_vif(host: &SimHost, guest: DomId, devid: u32, mac: &str) -> Netback {
    add_vif_with(host, guest, devid, mac, VifConfig::default())
}

/// [`add_vif`] with a chosen [`VifConfig`].
pub fn add_vif_with(
    host: &SimHost,
    guest: DomId,
    devid: u32,
    mac: &str,
    config: VifConfig,
) -> Netback {
    let store = host.store().clone();
    let fe = format!("/local/domain/{guest}/device/vif/{devid}");
    let be = format!("/local/domain/0/backend/vif/{guest}/{devid}");
    for (k, v) in [
        ("backend", be.as_str()),
        ("backend-id", "0"),
        ("state", "1"),
        ("handle", &format!("{devid}")),
        ("mac", mac),
    ] {
        store.write(&format!("{fe}/{k}"), v.as_bytes());
    }
    for (k, v) in [
        ("frontend", fe.as_str()),
        ("frontend-id", &format!("{guest}")),
        ("state", "1"),
        ("mac", mac),
        ("feature-rx-copy", "1"),
        ("feature-sg", if config.sg { "1" } else { "0" }),
    ] {
        store.write(&format!("{be}/{k}"), v.as_bytes());
    }
    if let Some(mtu) = config.mtu {
        store.write(&format!("{fe}/mtu"), format!("{mtu}").as_bytes());
    }
    let handle = Netback {
        shared: Rc::new(RefCell::new(Shared::default())),
    };
    let ctx = Ctx {
        config,
        store,
        dom0: host.dom0().clone(),
        events: host.events().clone(),
        guest,
        fe,
        be,
    };
    host.spawn(run(ctx, handle.clone()));
    handle
}

type TxBack = BackRing<NetifTxRequest, NetifTxResponse>;
type RxBack = BackRing<NetifRxRequest, NetifRxResponse>;

async fn run(ctx: Ctx, nb: Netback) {
    ctx.set_state(2);
    let fe_state = format!("{}/state", ctx.fe);
    let s = ctx
        .store
        .wait_for(&fe_state, |s| matches!(s, "4" | "5" | "6"))
        .await;
    if s != "4" {
        ctx.set_state(6);
        nb.shared.borrow_mut().closed = true;
        return;
    }
    let (Some(tx_ref), Some(rx_ref), Some(evtchn)) = (
        ctx.fe_u32("tx-ring-ref"),
        ctx.fe_u32("rx-ring-ref"),
        ctx.fe_u32("event-channel"),
    ) else {
        ctx.set_state(6);
        nb.shared.borrow_mut().closed = true;
        return;
    };
    let maps: Result<(GrantMapping, GrantMapping), _> = ctx
        .dom0
        .map_grant(ctx.guest, tx_ref, false)
        .and_then(|t| Ok((t, ctx.dom0.map_grant(ctx.guest, rx_ref, false)?)));
    let Ok((tx_map, rx_map)) = maps else {
        ctx.set_state(6);
        nb.shared.borrow_mut().closed = true;
        return;
    };
    let Ok(port) = ctx.events.bind_interdomain(ctx.guest, evtchn) else {
        ctx.set_state(6);
        nb.shared.borrow_mut().closed = true;
        return;
    };
    let mut tx = TxBack::attach(tx_map.page().clone());
    let mut rx = RxBack::attach(rx_map.page().clone());
    let sg = ctx.config.sg && ctx.fe_u32("feature-sg") == Some(1);
    let mut chain = Vec::new();
    ctx.set_state(4);
    nb.shared.borrow_mut().connected = true;

    poll_fn(|cx| {
        ctx.events.register(port, cx.waker());
        nb.shared.borrow_mut().backend_waker = Some(cx.waker().clone());
        if nb.shared.borrow().close {
            return Poll::Ready(());
        }
        // The frontend closing (or its directory vanishing) ends the device.
        ctx.store.register_change(cx.waker());
        let fe_state = ctx.store.read_string(&format!("{}/state", ctx.fe));
        if !matches!(fe_state.as_deref(), Some("1" | "2" | "3" | "4")) {
            return Poll::Ready(());
        }
        if nb.shared.borrow().paused {
            return Poll::Pending;
        }
        if serve(&ctx, &nb, port, &mut tx, &mut rx, &mut chain, sg).is_err() {
            // A ring overrun by the frontend: stop serving it.
            return Poll::Ready(());
        }
        Poll::Pending
    })
    .await;

    ctx.set_state(5);
    drop(tx_map);
    drop(rx_map);
    let _ = ctx.events.close(port);
    ctx.set_state(6);
    let mut s = nb.shared.borrow_mut();
    s.connected = false;
    s.closed = true;
}

/// Copies a transmitted frame (one request, or a `NETTXF_more_data`
/// chain whose first request carries the total size) out of the guest.
fn copy_tx_frame(ctx: &Ctx, chain: &[NetifTxRequest]) -> Option<Vec<u8>> {
    let total = usize::from(chain.first()?.size);
    let rest: usize = chain[1..].iter().map(|r| usize::from(r.size)).sum();
    let first = total.checked_sub(rest)?;
    let mut frame = alloc::vec![0u8; total];
    let mut pos = 0;
    for (i, r) in chain.iter().enumerate() {
        let len = if i == 0 { first } else { usize::from(r.size) };
        if usize::from(r.offset) + len > PAGE_SIZE || r.flags & NETTXF_EXTRA_INFO != 0 {
            return None;
        }
        ctx.dom0
            .copy_from_grant(
                ctx.guest,
                r.gref,
                usize::from(r.offset),
                &mut frame[pos..pos + len],
            )
            .ok()?;
        pos += len;
    }
    Some(frame)
}

fn serve(
    ctx: &Ctx,
    nb: &Netback,
    port: Port,
    tx: &mut TxBack,
    rx: &mut RxBack,
    chain: &mut Vec<NetifTxRequest>,
    sg: bool,
) -> Result<(), crate::ring::RingError> {
    let mut notify = false;
    // Guest → host.
    loop {
        while let Some(req) = tx.take_request()? {
            chain.push(req);
            if req.flags & NETTXF_MORE_DATA != 0 && sg && chain.len() < 64 {
                continue;
            }
            let frame = if req.flags & NETTXF_MORE_DATA != 0 {
                None
            } else {
                copy_tx_frame(ctx, chain)
            };
            let status = match frame {
                Some(frame) => {
                    let mut s = nb.shared.borrow_mut();
                    s.from_guest.push_back(frame);
                    if let Some(w) = s.test_waker.take() {
                        w.wake();
                    }
                    NETIF_RSP_OKAY
                }
                None => {
                    nb.shared.borrow_mut().tx_errors += 1;
                    NETIF_RSP_ERROR
                }
            };
            // A response slot exists for every consumed request.
            for r in chain.drain(..) {
                let _ = tx.push_response(&NetifTxResponse { id: r.id, status });
            }
        }
        notify |= tx.push_responses_and_check_notify();
        if !tx.final_check_for_requests()? {
            break;
        }
    }
    // Host → guest.
    loop {
        let mut delivered = false;
        loop {
            let Some(len) = nb.shared.borrow().to_guest.front().map(Vec::len) else {
                break;
            };
            let slots = if sg {
                len.div_ceil(PAGE_SIZE).max(1)
            } else {
                1
            };
            if (rx.unconsumed_requests()? as usize) < slots {
                break;
            }
            let frame = {
                let mut s = nb.shared.borrow_mut();
                if let Some(w) = s.space_waker.take() {
                    w.wake();
                }
                s.to_guest.pop_front().unwrap_or_default()
            };
            let too_big = frame.is_empty() || (!sg && frame.len() > PAGE_SIZE);
            let chunks: Vec<&[u8]> = if too_big {
                alloc::vec![&[][..]]
            } else {
                frame.chunks(PAGE_SIZE).collect()
            };
            let last = chunks.len() - 1;
            for (i, chunk) in chunks.iter().enumerate() {
                let Some(req) = rx.take_request()? else {
                    break;
                };
                let status = if too_big {
                    NETIF_RSP_ERROR
                } else {
                    match ctx.dom0.copy_to_grant(ctx.guest, req.gref, 0, chunk) {
                        Ok(()) => chunk.len() as i16,
                        Err(_) => NETIF_RSP_ERROR,
                    }
                };
                let _ = rx.push_response(&NetifRxResponse {
                    id: req.id,
                    offset: 0,
                    flags: if i < last { NETRXF_MORE_DATA } else { 0 },
                    status,
                });
            }
            delivered = true;
        }
        if delivered {
            notify |= rx.push_responses_and_check_notify();
        }
        let Some(len) = nb.shared.borrow().to_guest.front().map(Vec::len) else {
            break;
        };
        let slots = if sg {
            len.div_ceil(PAGE_SIZE).max(1)
        } else {
            1
        };
        if !rx.wait_for_requests(slots as u32)? {
            break;
        }
    }
    if notify {
        let _ = ctx.events.notify(port);
    }
    Ok(())
}
