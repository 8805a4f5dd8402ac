//! [`Runner`]: the future that moves frames between the device and smoltcp.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context, Poll};
use core::time::Duration;

use mirage_core::{Instant, LinkState, Network, Time};
use smoltcp::iface::PollIngressSingleResult;
use smoltcp::socket::dhcpv4;

use crate::device::{Adapter, FrameCounts, SynGate, from_smol, to_smol};
use crate::loopback::Loopback;
use crate::stack::Stack;

/// Frames taken from the device in one poll before the runner yields to
/// other tasks (it asks to be polled again at once).
const RX_BUDGET: usize = 64;

/// The longest the runner goes without asking the device for its link state
/// while it is polling anyway.
const LINK_CHECK: Duration = Duration::from_secs(1);

/// After this many polls in a row that left smoltcp wanting to run again
/// immediately, the runner waits a millisecond: a guard against spinning
/// (which in a simulation would stop virtual time) on a timer that smoltcp
/// keeps reporting as due.
const MAX_IMMEDIATE: u32 = 4;

/// Drives a [`Stack`]: owns the device and the clock, and must be polled
/// for as long as the stack is in use (spawn it, or `join`/`select` it with
/// the application's future).
///
/// Each poll feeds received frames to smoltcp (refilling TCP listeners
/// between frames), lets every socket transmit, applies DHCP events and
/// frees closed sockets. Then it sleeps until smoltcp's next deadline
/// (`poll_at`) through [`Time`], racing the device's wakers (frame arrived,
/// transmit room freed, link changed) and the sockets' (data written, window
/// opened); it never busy-waits.
pub struct Runner<N, T> {
    device: N,
    time: T,
    stack: Stack,
    frames: FrameCounts,
    lo: Loopback,
    gate: SynGate,
}

impl<N, T> core::fmt::Debug for Runner<N, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runner")
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

/// What one poll of the interface left to do.
struct Step {
    /// When smoltcp (or a lingering socket) next needs a poll.
    next: Instant,
    /// Frames may still be waiting: poll again before sleeping.
    more: bool,
    /// The device had no transmit room: its waker will call us back.
    tx_full: bool,
}

impl<N: Network, T: Time> Runner<N, T> {
    pub(crate) fn new(device: N, time: T, stack: Stack) -> Self {
        let lo = Loopback::new(stack.mac_address().0);
        Runner {
            device,
            time,
            stack,
            frames: FrameCounts::default(),
            lo,
            gate: SynGate::default(),
        }
    }

    /// The stack this runner drives.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Runs the stack forever.
    pub async fn run(mut self) -> ! {
        let Runner {
            device,
            time,
            stack,
            frames,
            lo,
            gate,
        } = &mut self;
        let time = &*time;
        let mut sleep = pin!(time.sleep_until(Instant::MAX));
        let mut deadline = Instant::MAX;
        let mut armed = false;
        let mut immediate = 0u32;
        let never: core::convert::Infallible = poll_fn(|cx| {
            loop {
                let now = time.now();
                let step = poll_once(device, frames, lo, gate, stack, now, cx);
                let mut next = step.next;
                if next <= now && step.tx_full {
                    // smoltcp wants to send but the device is full: its
                    // waker calls us back when there is room.
                    next = Instant::MAX;
                }
                if next <= now {
                    immediate += 1;
                    if immediate > MAX_IMMEDIATE {
                        next = now + Duration::from_millis(1);
                    }
                } else {
                    immediate = 0;
                }
                if step.more || next <= now {
                    // More work right away; yield to other tasks first.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if next != deadline || !armed {
                    if next == Instant::MAX {
                        armed = false;
                        deadline = Instant::MAX;
                        return Poll::Pending;
                    }
                    sleep.set(time.sleep_until(next));
                    deadline = next;
                    armed = true;
                }
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => armed = false,
                }
            }
        })
        .await;
        match never {}
    }
}

/// One pass over the interface: ingress, listener upkeep, egress, DHCP,
/// orphan reaping. Registers the runner's waker everywhere it may be needed.
fn poll_once<N: Network>(
    device: &mut N,
    frames: &FrameCounts,
    lo: &mut Loopback,
    gate: &SynGate,
    stack: &Stack,
    now: Instant,
    cx: &mut Context<'_>,
) -> Step {
    let mut guard = stack.inner.borrow_mut();
    let inner = &mut *guard;
    inner.register_runner(cx.waker());
    inner.now = now;
    inner.counters.polls += 1;

    // Some devices answer link_state with system calls (a TAP device asks
    // the kernel), so ask at most once a second; devices that wake the
    // runner on a change still get a poll, which looks again after that.
    let check_link = inner
        .link_checked
        .is_none_or(|t| now.saturating_duration_since(t) >= LINK_CHECK);
    if check_link {
        inner.link_checked = Some(now);
    }
    let up = if check_link {
        device.link_state(cx) == LinkState::Up
    } else {
        inner.link_up
    };
    if up != inner.link_up {
        inner.link_up = up;
        if up {
            // A new link may be a new network: ask for a fresh lease.
            if let Some(h) = inner.dhcp {
                inner.sockets.get_mut::<dhcpv4::Socket<'static>>(h).reset();
            }
        }
    }

    let ts = to_smol(now);
    lo.set_addresses(inner.iface.ip_addrs());
    gate.ports.borrow_mut().clone_from(&inner.full_ports);
    let mut adapter = Adapter {
        cx,
        net: device,
        counts: frames,
        lo,
        gate,
        tx_full: false,
        received: 0,
    };
    inner.iface.poll_maintenance(ts);
    let mut more = false;
    loop {
        if adapter.received >= RX_BUDGET {
            more = true;
            break;
        }
        match inner
            .iface
            .poll_ingress_single(ts, &mut adapter, &mut inner.sockets)
        {
            PollIngressSingleResult::None => break,
            PollIngressSingleResult::PacketProcessed => {}
            // A SYN may have taken a LISTEN socket: replace it before the
            // next frame, so a burst of SYNs finds sockets waiting.
            PollIngressSingleResult::SocketStateChanged => {
                inner.service_listeners();
                gate.ports.borrow_mut().clone_from(&inner.full_ports);
            }
        }
    }
    inner.service_listeners();
    inner.note_open_tcp();
    while inner
        .iface
        .poll_egress(ts, &mut adapter, &mut inner.sockets)
        .eq(&smoltcp::iface::PollResult::SocketStateChanged)
    {}
    inner.note_timeouts();
    inner.wake_udp();
    if inner.poll_dhcp() || !adapter.lo.is_empty() {
        more = true;
    }
    inner.reap_orphans();
    inner.reap_udp_orphans(None);

    let mut next = inner
        .iface
        .poll_at(ts, &inner.sockets)
        .map(from_smol)
        .unwrap_or(Instant::MAX);
    if let Some(linger) = inner.next_linger() {
        next = next.min(linger);
    }
    let tx_full = adapter.tx_full;
    inner.counters.device = device.counters();
    inner.sync_counters(frames);
    inner.counters.frames_looped = lo.looped.get();
    inner.counters.tcp_syn_dropped = gate.dropped.get();
    inner.counters.loopback_dropped = lo.dropped.get();
    Step {
        next,
        more,
        tx_full,
    }
}
