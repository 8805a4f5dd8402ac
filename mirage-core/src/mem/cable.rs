//! [`Switch`]: a virtual Ethernet switch with seeded loss, delay,
//! duplication and reordering, whose ports are [`MemNetwork`] devices.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::task::{Context, Waker};
use core::time::Duration;

use super::clock::VirtualClock;
use super::random::SeededRandom;
use crate::network::{
    Capabilities, LinkState, MacAddress, Network, NetworkCounters, RxToken, TxToken,
};
use crate::time::{Instant, MonotonicClock};

/// How the virtual cable treats each frame, per receiving port.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Probability in `[0, 1]` that a frame is lost.
    pub loss: f64,
    /// Probability that a frame is delivered twice.
    pub duplicate: f64,
    /// Probability that a frame is held back by up to `jitter` extra,
    /// letting later frames overtake it.
    pub reorder: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// The largest extra delay of a reordered frame.
    pub jitter: Duration,
    /// Frames a port buffers before it drops new arrivals.
    pub queue_frames: usize,
    /// The IP MTU of every port.
    pub mtu: usize,
}

impl Default for LinkConfig {
    /// A perfect 1500-byte-MTU link with 100 µs latency.
    fn default() -> Self {
        LinkConfig {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: Duration::from_micros(100),
            jitter: Duration::from_millis(1),
            queue_frames: 1024,
            mtu: 1500,
        }
    }
}

#[derive(Debug)]
struct Port {
    mac: MacAddress,
    queue: BTreeMap<(Instant, u64), Vec<u8>>,
    rx_waker: Option<Waker>,
    armed_for: Option<Instant>,
    counters: NetworkCounters,
    up: bool,
}

#[derive(Debug)]
struct Shared {
    clock: VirtualClock,
    random: SeededRandom,
    config: LinkConfig,
    ports: Vec<Port>,
    seq: u64,
}

/// A learning-free switch: a frame goes to the port whose MAC it is
/// addressed to, or to every other port if broadcast/multicast. Each
/// delivery independently suffers the configured loss, duplication, delay
/// and reordering, drawn from a seeded generator, so a fixed seed gives the
/// same frames in the same order on every run.
#[derive(Debug, Clone)]
pub struct Switch {
    shared: Rc<RefCell<Shared>>,
}

impl Switch {
    /// A switch whose impairments derive from `seed`, timed by `clock`.
    pub fn new(clock: VirtualClock, seed: u64, config: LinkConfig) -> Self {
        Switch {
            shared: Rc::new(RefCell::new(Shared {
                clock,
                random: SeededRandom::new(seed),
                config,
                ports: Vec::new(),
                seq: 0,
            })),
        }
    }

    /// Plugs in a new device with a locally administered MAC address.
    pub fn attach(&self) -> MemNetwork {
        let n = self.shared.borrow().ports.len() as u32 + 1;
        let b = n.to_be_bytes();
        self.attach_with_mac(MacAddress([0x02, 0, b[0], b[1], b[2], b[3]]))
    }

    /// Plugs in a new device with the given MAC address.
    pub fn attach_with_mac(&self, mac: MacAddress) -> MemNetwork {
        let mut s = self.shared.borrow_mut();
        s.ports.push(Port {
            mac,
            queue: BTreeMap::new(),
            rx_waker: None,
            armed_for: None,
            counters: NetworkCounters::default(),
            up: true,
        });
        MemNetwork {
            shared: self.shared.clone(),
            index: s.ports.len() - 1,
        }
    }

    /// Changes the impairments from now on.
    pub fn set_config(&self, config: LinkConfig) {
        self.shared.borrow_mut().config = config;
    }
}

impl Shared {
    fn deliver(&mut self, from: usize, frame: Vec<u8>) {
        if frame.len() < 14 {
            self.ports[from].counters.tx_dropped += 1;
            return;
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        let dst = MacAddress(dst);
        let now = self.clock.now();
        let cfg = self.config;
        for to in 0..self.ports.len() {
            if to == from || !(dst.is_multicast() || self.ports[to].mac == dst) {
                continue;
            }
            if self.random.next_f64() < cfg.loss {
                continue;
            }
            let copies = if self.random.next_f64() < cfg.duplicate {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut at = now + cfg.delay;
                if self.random.next_f64() < cfg.reorder {
                    let j = cfg.jitter.as_nanos() as u64;
                    at += Duration::from_nanos(self.random.below(j.max(1)));
                }
                let port = &mut self.ports[to];
                if !port.up || port.queue.len() >= cfg.queue_frames {
                    port.counters.rx_dropped += 1;
                    continue;
                }
                self.seq += 1;
                port.queue.insert((at, self.seq), frame.clone());
                if let Some(w) = port.rx_waker.take() {
                    w.wake();
                }
            }
        }
    }
}

/// One port of a [`Switch`]: a [`Network`] device in memory.
#[derive(Debug)]
pub struct MemNetwork {
    shared: Rc<RefCell<Shared>>,
    index: usize,
}

impl MemNetwork {
    /// Brings the link up or down; frames to or from a down port are dropped.
    pub fn set_link_state(&self, state: LinkState) {
        let mut s = self.shared.borrow_mut();
        s.ports[self.index].up = state == LinkState::Up;
        if let Some(w) = s.ports[self.index].rx_waker.take() {
            w.wake();
        }
    }
}

/// A frame received from a [`MemNetwork`].
#[derive(Debug)]
pub struct MemRxToken {
    frame: Vec<u8>,
}

impl RxToken for MemRxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.frame)
    }
}

/// Room to send one frame on a [`MemNetwork`].
#[derive(Debug)]
pub struct MemTxToken<'a> {
    net: &'a MemNetwork,
}

impl TxToken for MemTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        let mut s = self.net.shared.borrow_mut();
        let max = s.config.mtu + Capabilities::ETHERNET_HEADER_LEN;
        let port = &mut s.ports[self.net.index];
        if len > max || !port.up {
            port.counters.tx_dropped += 1;
            return r;
        }
        port.counters.tx_packets += 1;
        port.counters.tx_bytes += len as u64;
        s.deliver(self.net.index, buf);
        r
    }
}

impl Network for MemNetwork {
    type RxToken<'a> = MemRxToken;
    type TxToken<'a> = MemTxToken<'a>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(MemRxToken, MemTxToken<'_>)> {
        let mut s = self.shared.borrow_mut();
        let now = s.clock.now();
        let clock = s.clock.clone();
        let port = &mut s.ports[self.index];
        let head = port.queue.keys().next().copied();
        match head {
            Some(k) if k.0 <= now => {
                let frame = port.queue.remove(&k).expect("head exists");
                port.counters.rx_packets += 1;
                port.counters.rx_bytes += frame.len() as u64;
                drop(s);
                Some((MemRxToken { frame }, MemTxToken { net: self }))
            }
            Some(k) => {
                port.rx_waker = Some(cx.waker().clone());
                if port.armed_for != Some(k.0) {
                    port.armed_for = Some(k.0);
                    drop(s);
                    clock.wake_at(k.0, cx.waker().clone());
                }
                None
            }
            None => {
                port.rx_waker = Some(cx.waker().clone());
                None
            }
        }
    }

    fn transmit(&mut self, _cx: &mut Context<'_>) -> Option<MemTxToken<'_>> {
        Some(MemTxToken { net: self })
    }

    fn link_state(&mut self, cx: &mut Context<'_>) -> LinkState {
        let mut s = self.shared.borrow_mut();
        let port = &mut s.ports[self.index];
        if port.rx_waker.is_none() {
            port.rx_waker = Some(cx.waker().clone());
        }
        if port.up {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::with_mtu(self.shared.borrow().config.mtu)
    }

    fn mac_address(&self) -> MacAddress {
        self.shared.borrow().ports[self.index].mac
    }

    fn counters(&self) -> NetworkCounters {
        self.shared.borrow().ports[self.index].counters
    }
}
