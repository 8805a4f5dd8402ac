//! Traffic from the stack to itself.
//!
//! smoltcp has no loopback on an Ethernet interface: a packet for one of
//! its own addresses goes through address resolution and out to the wire,
//! where nobody answers. The runner therefore feeds back into smoltcp the
//! frames it should hear itself: unicast frames addressed to its own MAC,
//! and ARP requests and IPv6 neighbour solicitations for its own addresses
//! (smoltcp answers those with a frame to its own MAC, which comes back
//! too). So a service can connect to another service on the same stack.
//! The frames still go out on the wire as well; peers ignore them.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::IpAddr;

use smoltcp::wire::IpCidr;

/// Frames waiting to be received by the stack that sent them.
const QUEUE: usize = 64;

/// The loopback queue and what it needs to recognise the stack's own frames.
#[derive(Debug)]
pub(crate) struct Loopback {
    queue: RefCell<VecDeque<Vec<u8>>>,
    mac: [u8; 6],
    own: [Option<IpAddr>; 4],
    /// Frames dropped because the queue was full.
    pub(crate) dropped: core::cell::Cell<u64>,
    /// Frames looped back.
    pub(crate) looped: core::cell::Cell<u64>,
}

impl Loopback {
    pub(crate) fn new(mac: [u8; 6]) -> Self {
        Loopback {
            queue: RefCell::new(VecDeque::new()),
            mac,
            own: [None; 4],
            dropped: Default::default(),
            looped: Default::default(),
        }
    }

    /// Refreshes the stack's own addresses (they change with DHCP).
    pub(crate) fn set_addresses(&mut self, cidrs: &[IpCidr]) {
        self.own = [None; 4];
        for (slot, c) in self.own.iter_mut().zip(cidrs) {
            *slot = Some(c.address().into());
        }
    }

    fn is_own(&self, ip: IpAddr) -> bool {
        self.own.contains(&Some(ip))
    }

    /// Whether the stack should also receive `frame`, which it just sent.
    fn wants(&self, frame: &[u8]) -> bool {
        if frame.len() < 14 {
            return false;
        }
        if frame[..6] == self.mac {
            return true;
        }
        match [frame[12], frame[13]] {
            // ARP request (operation 1) for one of our IPv4 addresses.
            [0x08, 0x06] if frame.len() >= 42 && frame[20..22] == [0, 1] => {
                let target: [u8; 4] = frame[38..42].try_into().unwrap_or_default();
                self.is_own(IpAddr::from(target))
            }
            // ICMPv6 (next header 58) neighbour solicitation (type 135) for
            // one of our IPv6 addresses.
            [0x86, 0xdd] if frame.len() >= 78 && frame[20] == 58 && frame[54] == 135 => {
                let target: [u8; 16] = frame[62..78].try_into().unwrap_or_default();
                self.is_own(IpAddr::from(target))
            }
            _ => false,
        }
    }

    /// Queues a copy of `frame` if the stack should hear it.
    pub(crate) fn offer(&self, frame: &[u8]) {
        if !self.wants(frame) {
            return;
        }
        let mut q = self.queue.borrow_mut();
        if q.len() >= QUEUE {
            self.dropped.set(self.dropped.get() + 1);
            return;
        }
        self.looped.set(self.looped.get() + 1);
        q.push_back(frame.to_vec());
    }

    pub(crate) fn pop(&self) -> Option<Vec<u8>> {
        self.queue.borrow_mut().pop_front()
    }

    pub(crate) fn push_front(&self, frame: Vec<u8>) {
        self.queue.borrow_mut().push_front(frame);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

    #[test]
    fn recognises_own_frames_only() {
        let mac = [2, 0, 0, 0, 0, 1];
        let mut lo = Loopback::new(mac);
        lo.set_addresses(&[IpCidr::Ipv4(Ipv4Cidr::new(
            Ipv4Address::new(10, 0, 0, 1),
            24,
        ))]);
        let mut unicast = alloc::vec![0u8; 60];
        unicast[..6].copy_from_slice(&mac);
        assert!(lo.wants(&unicast));
        let mut arp = alloc::vec![0u8; 42];
        arp[..6].copy_from_slice(&[0xff; 6]);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        arp[20..22].copy_from_slice(&[0, 1]);
        arp[38..42].copy_from_slice(&[10, 0, 0, 1]);
        assert!(lo.wants(&arp), "ARP request for our address");
        arp[38..42].copy_from_slice(&[10, 0, 0, 2]);
        assert!(!lo.wants(&arp), "ARP request for another host");
        assert!(!lo.wants(&[0u8; 10]), "runt frame");
    }
}
