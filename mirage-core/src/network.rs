//! Ethernet devices: [`Network`].
//!
//! The shape follows smoltcp's `phy::Device` and embassy's
//! `embassy-net-driver`: the device owns its buffers and lends them through
//! tokens. A receive token hands the caller a filled frame; a transmit token
//! hands the caller a buffer of the length it asked for, to fill in place.
//! Nothing is copied between the device and the protocol that consumes it.
//!
//! The poll methods register the task's waker and return `None` when they
//! cannot proceed; the device wakes the task when a frame arrives or
//! transmit space frees up.

use core::fmt;
use core::future::poll_fn;
use core::task::{Context, Poll};

/// An Ethernet (MAC-48) address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// The broadcast address ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddress = MacAddress([0xff; 6]);

    /// Whether the group bit is set (broadcast or multicast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// A locally administered unicast address derived from `seed`, for
    /// devices that have none of their own.
    pub fn local_from_seed(seed: u64) -> MacAddress {
        let b = seed.to_le_bytes();
        MacAddress([(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]])
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddress({self})")
    }
}

/// Whether the link is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// Frames can flow.
    Up,
    /// The cable is out: frames sent now are dropped.
    Down,
}

/// What a device can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// The IP MTU: the largest Ethernet payload in bytes (1500 for standard
    /// Ethernet). A whole frame is at most `mtu + 14` bytes (no FCS).
    pub mtu: usize,
    /// How many frames the device will hand out per poll before it wants the
    /// caller to yield; `None` if unlimited.
    pub max_burst_size: Option<usize>,
}

impl Capabilities {
    /// Ethernet header length: destination, source, EtherType.
    pub const ETHERNET_HEADER_LEN: usize = 14;

    /// Capabilities of a standard Ethernet device with the given MTU.
    pub const fn with_mtu(mtu: usize) -> Self {
        Capabilities {
            mtu,
            max_burst_size: None,
        }
    }

    /// The largest frame the device sends or receives, header included.
    pub const fn max_frame_len(&self) -> usize {
        self.mtu + Self::ETHERNET_HEADER_LEN
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::with_mtu(1500)
    }
}

/// Running totals of what a device has carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetworkCounters {
    /// Frames received and handed to the caller.
    pub rx_packets: u64,
    /// Bytes in those frames.
    pub rx_bytes: u64,
    /// Frames that arrived but were dropped (no buffer, too long, link down).
    pub rx_dropped: u64,
    /// Frames transmitted.
    pub tx_packets: u64,
    /// Bytes in those frames.
    pub tx_bytes: u64,
    /// Frames the caller gave that could not be sent (too long, link down).
    pub tx_dropped: u64,
}

/// A received frame, lent by the device until [`RxToken::consume`] returns.
pub trait RxToken {
    /// Calls `f` with the frame (Ethernet header first, no FCS).
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R;
}

/// Permission to send one frame of a chosen length.
pub trait TxToken {
    /// Calls `f` with a zeroed buffer of `len` bytes to fill with a whole
    /// frame (Ethernet header first, no FCS), then sends it. A `len` above
    /// [`Capabilities::max_frame_len`] is dropped and counted as such.
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R;
}

/// An Ethernet device: a TAP interface, a Xen netfront, a virtual cable.
pub trait Network {
    /// A token for a received frame.
    type RxToken<'a>: RxToken
    where
        Self: 'a;
    /// A token to transmit a frame.
    type TxToken<'a>: TxToken
    where
        Self: 'a;

    /// A received frame plus room to send a reply, or `None` when no frame
    /// is waiting or there is no transmit room; then the task is woken when
    /// that changes.
    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)>;

    /// Room to send one frame, or `None` (and a wake-up later) when the
    /// transmit queue is full.
    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>>;

    /// The link state; the task is woken when it changes, where the device
    /// can tell. A device that cannot be notified of changes (a TAP device)
    /// registers no wake-up, so callers that care re-check it from time to
    /// time.
    fn link_state(&mut self, cx: &mut Context<'_>) -> LinkState;

    /// MTU and burst size.
    fn capabilities(&self) -> Capabilities;

    /// The device's own MAC address.
    fn mac_address(&self) -> MacAddress;

    /// Frames and bytes carried and dropped so far.
    fn counters(&self) -> NetworkCounters;
}

impl<T: Network + ?Sized> Network for &mut T {
    type RxToken<'a>
        = T::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = T::TxToken<'a>
    where
        Self: 'a;
    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        (**self).receive(cx)
    }
    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        (**self).transmit(cx)
    }
    fn link_state(&mut self, cx: &mut Context<'_>) -> LinkState {
        (**self).link_state(cx)
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn mac_address(&self) -> MacAddress {
        (**self).mac_address()
    }
    fn counters(&self) -> NetworkCounters {
        (**self).counters()
    }
}

/// Waits for a frame and copies it into `buf`, returning its length (a frame
/// longer than `buf` is truncated). A convenience for tests and simple
/// tools; protocol stacks should use the tokens directly.
pub async fn recv_frame<N: Network + ?Sized>(net: &mut N, buf: &mut [u8]) -> usize {
    poll_fn(|cx| match net.receive(cx) {
        Some((rx, _tx)) => Poll::Ready(rx.consume(|frame| {
            let n = frame.len().min(buf.len());
            buf[..n].copy_from_slice(&frame[..n]);
            n
        })),
        None => Poll::Pending,
    })
    .await
}

/// Waits for transmit room and sends `frame`. A convenience for tests and
/// simple tools; protocol stacks should fill a [`TxToken`] directly.
pub async fn send_frame<N: Network + ?Sized>(net: &mut N, frame: &[u8]) {
    poll_fn(|cx| match net.transmit(cx) {
        Some(tx) => {
            tx.consume(frame.len(), |buf| buf.copy_from_slice(frame));
            Poll::Ready(())
        }
        None => Poll::Pending,
    })
    .await
}
