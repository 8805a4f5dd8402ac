//! [`PcapNetwork`]: a [`Network`] device that wraps another and records
//! every frame it carries, in the classic pcap format Wireshark and tcpdump
//! read. It shows the whole of what a device must do: hand out tokens,
//! report MTU, MAC, link state and counters.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Context;

use mirage_core::{
    Capabilities, LinkState, MacAddress, MonotonicClock, Network, NetworkCounters, RxToken, TxToken,
};

/// The pcap file being written: a global header, then one record per frame.
#[derive(Debug, Clone)]
pub struct Capture {
    bytes: Rc<RefCell<Vec<u8>>>,
}

impl Capture {
    fn new(snaplen: u32) -> Capture {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
        header.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // UTC offset
        header.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
        header.extend_from_slice(&snaplen.to_le_bytes());
        header.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        Capture {
            bytes: Rc::new(RefCell::new(header)),
        }
    }

    fn record(&self, micros: u64, frame: &[u8]) {
        let mut out = self.bytes.borrow_mut();
        out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }

    /// The file so far.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.borrow().clone()
    }
}

/// Records the frames of `N`, timestamped by the clock `C`.
#[derive(Debug)]
pub struct PcapNetwork<N, C> {
    inner: N,
    clock: C,
    capture: Capture,
}

impl<N: Network, C: MonotonicClock> PcapNetwork<N, C> {
    /// Wraps `inner`; the capture starts empty.
    pub fn new(inner: N, clock: C) -> Self {
        let snaplen = inner.capabilities().max_frame_len() as u32;
        PcapNetwork {
            inner,
            clock,
            capture: Capture::new(snaplen),
        }
    }

    /// A handle on the capture, to read it while the device is in use.
    pub fn capture(&self) -> Capture {
        self.capture.clone()
    }
}

/// A received frame, recorded when the stack consumes it.
pub struct PcapRx<'a, T, C> {
    token: T,
    clock: &'a C,
    capture: &'a Capture,
}

impl<T: RxToken, C: MonotonicClock> RxToken for PcapRx<'_, T, C> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        self.token.consume(|frame| {
            self.capture.record(self.clock.now().as_micros(), frame);
            f(frame)
        })
    }
}

/// Room for a frame, recorded once the stack has filled it.
pub struct PcapTx<'a, T, C> {
    token: T,
    clock: &'a C,
    capture: &'a Capture,
}

impl<T: TxToken, C: MonotonicClock> TxToken for PcapTx<'_, T, C> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.token.consume(len, |frame| {
            let r = f(frame);
            self.capture.record(self.clock.now().as_micros(), frame);
            r
        })
    }
}

impl<N: Network, C: MonotonicClock> Network for PcapNetwork<N, C> {
    type RxToken<'a>
        = PcapRx<'a, N::RxToken<'a>, C>
    where
        Self: 'a;
    type TxToken<'a>
        = PcapTx<'a, N::TxToken<'a>, C>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(cx)?;
        Some((
            PcapRx {
                token: rx,
                clock: &self.clock,
                capture: &self.capture,
            },
            PcapTx {
                token: tx,
                clock: &self.clock,
                capture: &self.capture,
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        let tx = self.inner.transmit(cx)?;
        Some(PcapTx {
            token: tx,
            clock: &self.clock,
            capture: &self.capture,
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
