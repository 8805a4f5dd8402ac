//! The bridge from a mirage-core [`Network`] to smoltcp's `phy::Device`.
//!
//! smoltcp polls devices synchronously; mirage devices want a task
//! [`Context`] to register a waker when they have nothing to give. The
//! adapter carries the runner's context into every device call, so a device
//! that says "no frame" or "no room" wakes the runner when that changes
//! (the same trick as embassy-net's `DriverAdapter`).

use core::task::Context;

use mirage_core::network::Network;
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};

use core::cell::Cell;

use crate::loopback::Loopback;

/// Frame totals updated from inside smoltcp's token callbacks.
#[derive(Debug, Default)]
pub(crate) struct FrameCounts {
    pub(crate) frames_rx: Cell<u64>,
    pub(crate) bytes_rx: Cell<u64>,
    pub(crate) frames_tx: Cell<u64>,
    pub(crate) bytes_tx: Cell<u64>,
    pub(crate) tx_full: Cell<u64>,
}

fn bump(c: &Cell<u64>, by: u64) {
    c.set(c.get().wrapping_add(by));
}

/// Ports of listeners that have no LISTEN socket left (backlog full): a SYN
/// for them is dropped before smoltcp sees it, as Linux does with a full
/// accept queue, so the client retransmits it later instead of getting the
/// RST smoltcp would send.
#[derive(Debug, Default)]
pub(crate) struct SynGate {
    pub(crate) ports: core::cell::RefCell<alloc::vec::Vec<u16>>,
    pub(crate) dropped: Cell<u64>,
}

impl SynGate {
    /// Whether `frame` is a TCP SYN (without ACK) for a gated port.
    fn refuses(&self, frame: &[u8]) -> bool {
        let ports = self.ports.borrow();
        if ports.is_empty() || frame.len() < 14 {
            return false;
        }
        let ip = &frame[14..];
        let tcp = match [frame[12], frame[13]] {
            [0x08, 0x00] if ip.len() >= 20 && ip[9] == 6 => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                ip.get(ihl..)
            }
            [0x86, 0xdd] if ip.len() >= 40 && ip[6] == 6 => ip.get(40..),
            _ => None,
        };
        let Some(tcp) = tcp.filter(|t| t.len() >= 14) else {
            return false;
        };
        let port = u16::from_be_bytes([tcp[2], tcp[3]]);
        let syn_only = tcp[13] & 0x12 == 0x02;
        syn_only && ports.contains(&port)
    }
}

/// Converts a mirage instant to smoltcp's microsecond clock.
pub(crate) fn to_smol(t: mirage_core::Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(t.as_micros()).unwrap_or(i64::MAX))
}

/// Converts a smoltcp instant back (negative times clamp to zero).
pub(crate) fn from_smol(t: smoltcp::time::Instant) -> mirage_core::Instant {
    let micros = u64::try_from(t.total_micros()).unwrap_or(0);
    mirage_core::Instant::from_nanos(micros.saturating_mul(1_000))
}

/// Converts a core duration to smoltcp's.
pub(crate) fn duration_to_smol(d: core::time::Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// smoltcp's view of a device for one poll.
pub(crate) struct Adapter<'d, 'c, N: Network> {
    pub(crate) cx: &'d mut Context<'c>,
    pub(crate) net: &'d mut N,
    pub(crate) counts: &'d FrameCounts,
    pub(crate) lo: &'d Loopback,
    pub(crate) gate: &'d SynGate,
    /// Set when the device refused a transmit token: smoltcp's "send now"
    /// must then wait for the device's waker, not spin.
    pub(crate) tx_full: bool,
    /// Frames received so far in this poll.
    pub(crate) received: usize,
}

impl<N: Network> phy::Device for Adapter<'_, '_, N> {
    type RxToken<'a>
        = RxAdapter<'a, N::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = TxAdapter<'a, N::TxToken<'a>>
    where
        Self: 'a;

    fn receive(
        &mut self,
        _timestamp: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if let Some(frame) = self.lo.pop() {
            // A frame the stack sent itself; its answer goes to the device.
            return match self.net.transmit(self.cx) {
                Some(tx) => {
                    self.received += 1;
                    Some((
                        RxAdapter {
                            inner: None,
                            looped: Some(frame),
                            counts: self.counts,
                            gate: self.gate,
                        },
                        TxAdapter {
                            inner: tx,
                            counts: self.counts,
                            lo: self.lo,
                        },
                    ))
                }
                None => {
                    // The device wakes the runner when it has room.
                    self.lo.push_front(frame);
                    self.tx_full = true;
                    None
                }
            };
        }
        let (rx, tx) = self.net.receive(self.cx)?;
        self.received += 1;
        Some((
            RxAdapter {
                inner: Some(rx),
                looped: None,
                counts: self.counts,
                gate: self.gate,
            },
            TxAdapter {
                inner: tx,
                counts: self.counts,
                lo: self.lo,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        match self.net.transmit(self.cx) {
            Some(tx) => Some(TxAdapter {
                inner: tx,
                counts: self.counts,
                lo: self.lo,
            }),
            None => {
                self.tx_full = true;
                bump(&self.counts.tx_full, 1);
                None
            }
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let caps = self.net.capabilities();
        let mut out = DeviceCapabilities::default();
        out.medium = Medium::Ethernet;
        // smoltcp's Ethernet MTU counts the 14-byte header.
        out.max_transmission_unit = caps.max_frame_len();
        out.max_burst_size = caps.max_burst_size;
        let mut checksum = ChecksumCapabilities::default();
        checksum.ipv4 = Checksum::Both;
        checksum.udp = Checksum::Both;
        checksum.tcp = Checksum::Both;
        checksum.icmpv4 = Checksum::Both;
        checksum.icmpv6 = Checksum::Both;
        out.checksum = checksum;
        out
    }
}

/// A received frame on its way into smoltcp: from the device, or looped
/// back from the stack itself.
pub(crate) struct RxAdapter<'a, T> {
    inner: Option<T>,
    looped: Option<alloc::vec::Vec<u8>>,
    counts: &'a FrameCounts,
    gate: &'a SynGate,
}

impl<T: mirage_core::RxToken> phy::RxToken for RxAdapter<'_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let counts = self.counts;
        let gate = self.gate;
        // smoltcp ignores a frame too short for an Ethernet header, so a
        // refused SYN is handed over empty: no copy, no reply.
        let pass = |frame: &[u8], f: F| {
            bump(&counts.frames_rx, 1);
            bump(&counts.bytes_rx, frame.len() as u64);
            if gate.refuses(frame) {
                bump(&gate.dropped, 1);
                f(&[])
            } else {
                f(frame)
            }
        };
        match (self.inner, self.looped) {
            (Some(rx), _) => rx.consume(|frame| pass(frame, f)),
            (None, Some(frame)) => pass(&frame, f),
            (None, None) => f(&[]),
        }
    }
}

/// Room for one frame smoltcp is about to write.
pub(crate) struct TxAdapter<'a, T> {
    inner: T,
    counts: &'a FrameCounts,
    lo: &'a Loopback,
}

impl<T: mirage_core::TxToken> phy::TxToken for TxAdapter<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        bump(&self.counts.frames_tx, 1);
        bump(&self.counts.bytes_tx, len as u64);
        let lo = self.lo;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            lo.offer(buf);
            r
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn tcp_v4(port: u16, flags: u8) -> alloc::vec::Vec<u8> {
        let mut f = alloc::vec![0u8; 14 + 20 + 20];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[14 + 9] = 6;
        f[34 + 2..34 + 4].copy_from_slice(&port.to_be_bytes());
        f[34 + 13] = flags;
        f
    }

    #[test]
    fn gate_drops_only_syns_for_full_ports() {
        let gate = SynGate::default();
        assert!(!gate.refuses(&tcp_v4(80, 0x02)), "no port is full");
        gate.ports.borrow_mut().push(80);
        assert!(gate.refuses(&tcp_v4(80, 0x02)), "SYN to a full port");
        assert!(!gate.refuses(&tcp_v4(80, 0x12)), "SYN-ACK passes");
        assert!(!gate.refuses(&tcp_v4(80, 0x10)), "ACK passes");
        assert!(!gate.refuses(&tcp_v4(81, 0x02)), "other port");
        let mut udp = tcp_v4(80, 0x02);
        udp[14 + 9] = 17;
        assert!(!gate.refuses(&udp), "not TCP");
        assert!(!gate.refuses(&tcp_v4(80, 0x02)[..40]), "truncated");
    }

    #[test]
    fn instants_round_trip_at_microsecond_resolution() {
        for nanos in [0, 999, 1_000, 1_234_567_000, u64::MAX / 2] {
            let t = mirage_core::Instant::from_nanos(nanos);
            assert_eq!(from_smol(to_smol(t)).as_nanos(), nanos / 1_000 * 1_000);
        }
        // Negative smoltcp times (never produced, but representable) clamp.
        assert_eq!(
            from_smol(smoltcp::time::Instant::from_micros(-5)),
            mirage_core::Instant::ZERO
        );
        assert_eq!(
            duration_to_smol(core::time::Duration::from_millis(1500)).total_millis(),
            1500
        );
    }
}
