//! Two (or more) stacks on a virtual switch, and a frame recorder.

use std::cell::Cell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::task::Context;

use mirage_core::mem::{LinkConfig, MemNetwork, Simulation, Switch};
use mirage_core::network::{
    Capabilities, LinkState, MacAddress, Network, NetworkCounters, RxToken, TxToken,
};
use mirage_net::{Config, Ipv6Config, Stack, StaticIpv6, TcpOptions};

/// FNV-1a over every frame either way, and how many frames there were.
#[derive(Debug, Default)]
pub struct Trace {
    pub hash: Cell<u64>,
    pub frames: Cell<u64>,
}

impl Trace {
    fn add(&self, dir: u8, frame: &[u8]) {
        let mut h = if self.frames.get() == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.hash.get()
        };
        for &b in std::iter::once(&dir).chain(frame) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        self.hash.set(h);
        self.frames.set(self.frames.get() + 1);
    }
}

/// A device that records every frame it carries into a [`Trace`].
pub struct Recorder {
    pub inner: MemNetwork,
    pub trace: Rc<Trace>,
}

pub struct RecRx<T> {
    inner: T,
    trace: Rc<Trace>,
}

impl<T: RxToken> RxToken for RecRx<T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        let trace = self.trace;
        self.inner.consume(|frame| {
            trace.add(0, frame);
            f(frame)
        })
    }
}

pub struct RecTx<T> {
    inner: T,
    trace: Rc<Trace>,
}

impl<T: TxToken> TxToken for RecTx<T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let trace = self.trace;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            trace.add(1, buf);
            r
        })
    }
}

impl Network for Recorder {
    type RxToken<'a> = RecRx<<MemNetwork as Network>::RxToken<'a>>;
    type TxToken<'a> = RecTx<<MemNetwork as Network>::TxToken<'a>>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(cx)?;
        Some((
            RecRx {
                inner: rx,
                trace: self.trace.clone(),
            },
            RecTx {
                inner: tx,
                trace: self.trace.clone(),
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        let tx = self.inner.transmit(cx)?;
        Some(RecTx {
            inner: tx,
            trace: self.trace.clone(),
        })
    }

    fn link_state(&mut self, cx: &mut Context<'_>) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn mac_address(&self) -> MacAddress {
        self.inner.mac_address()
    }

    fn counters(&self) -> NetworkCounters {
        self.inner.counters()
    }
}

pub const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
pub const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

/// A static dual-stack configuration.
pub fn config(v4: Ipv4Addr, v6: Ipv6Addr, tcp: TcpOptions) -> Config {
    Config::ipv4_static(v4, 24, None)
        .with_ipv6(Ipv6Config::Static(StaticIpv6 {
            address: v6,
            prefix_len: 64,
            gateway: None,
        }))
        .with_tcp(tcp)
}

/// A simulation with stacks A (10.0.0.1, fd00::1) and B (10.0.0.2, fd00::2)
/// on one switch, their runners spawned, and the frames A's device carries
/// recorded.
pub struct Pair {
    pub sim: Simulation,
    pub switch: Switch,
    pub a: Stack,
    pub b: Stack,
    pub trace: Rc<Trace>,
}

pub fn pair(seed: u64, link: LinkConfig, tcp: TcpOptions) -> Pair {
    let sim = Simulation::new(seed);
    let clock = sim.clock();
    let switch = Switch::new(clock.clone(), seed, link);
    let trace = Rc::new(Trace::default());
    let dev_a = Recorder {
        inner: switch.attach(),
        trace: trace.clone(),
    };
    let (a, ra) = Stack::new(
        dev_a,
        clock.clone(),
        sim.random(),
        config(A4, A6, tcp.clone()),
    )
    .expect("valid config");
    sim.spawn(ra.run());
    let (b, rb) = Stack::new(switch.attach(), clock, sim.random(), config(B4, B6, tcp))
        .expect("valid config");
    sim.spawn(rb.run());
    Pair {
        sim,
        switch,
        a,
        b,
        trace,
    }
}

/// Deterministic pseudo-random bytes for payloads.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// FNV-1a of a byte string.
pub fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
