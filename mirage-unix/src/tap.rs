//! [`Tap`]: the mirage-core [`Network`] on a Linux TAP device.
//!
//! The device is opened through `/dev/net/tun` with `IFF_TAP | IFF_NO_PI`:
//! each `read` is one whole Ethernet frame the host sent into the device,
//! each `write` one frame the host receives from it. The descriptor is
//! non-blocking and registered with tokio's reactor through [`AsyncFd`], so
//! [`Network::receive`] wakes the task when a frame arrives.
//!
//! The host side of the device has its own MAC address (read with
//! `SIOCGIFHWADDR`, see [`Tap::host_mac`]); the appliance behind the device
//! is another station on the link and must use a different one.
//! [`Tap::mac_address`](Network::mac_address) is therefore derived from the
//! host side's: the same address with the lowest bit of the last byte
//! flipped (stable across restarts, so the host's ARP cache stays right),
//! unless [`Tap::with_mac`] sets one. The MTU is the device's
//! (`SIOCGIFMTU`).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::task::{Context, Poll};

use mirage_core::{
    Capabilities, LinkState, MacAddress, Network, NetworkCounters, RxToken, TxToken,
};
use tokio::io::unix::AsyncFd;

use crate::run::args::valid_ifname;
use crate::sys;

/// Bytes a frame may carry beyond the MTU and the Ethernet header (a VLAN tag).
const SLACK: usize = 4;

/// Why a TAP device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// The name cannot be a Linux interface name.
    #[error("{0:?} is not a valid interface name (1 to 15 bytes, no '/', ':', NUL or spaces)")]
    BadName(String),
    /// `/dev/net/tun` is missing: the kernel lacks the tun module, or a
    /// container did not pass the device in.
    #[error("/dev/net/tun is missing: load the tun module or give the container the device")]
    NoTunDevice,
    /// The process may not create or attach the device.
    #[error(
        "not allowed to create or attach TAP device {0}: the process needs CAP_NET_ADMIN \
         (run as root or `setcap cap_net_admin+ep`), or create the device beforehand with \
         `ip tuntap add dev {0} mode tap user $USER`"
    )]
    PermissionDenied(String),
    /// Another process has the device open.
    #[error("TAP device {0} is busy: another process has it open")]
    Busy(String),
    /// An interface of that name exists but is not a TAP device (or is one
    /// with other flags, such as a TUN device).
    #[error("interface {0} exists and is not a TAP device")]
    NotTap(String),
    /// [`Tap::open`] was called outside a tokio runtime, whose reactor
    /// must watch the device.
    #[error("a TAP device must be opened inside a tokio runtime")]
    NoRuntime,
    /// Another host failure.
    #[error("TAP device {name}: {source}")]
    Io {
        /// The device.
        name: String,
        /// What the host said.
        #[source]
        source: io::Error,
    },
}

/// A Linux TAP device as a mirage-core [`Network`]; see the
/// [module documentation](self).
#[derive(Debug)]
pub struct Tap {
    name: String,
    fd: AsyncFd<File>,
    mac: MacAddress,
    host_mac: MacAddress,
    mtu: usize,
    rx: Vec<u8>,
    tx: Vec<u8>,
    counters: Cell<NetworkCounters>,
    /// Set when the descriptor fails for good (the device was deleted).
    failed: bool,
}

impl Tap {
    /// Attaches to the TAP device `name`, creating it if it does not exist
    /// (a device created here vanishes when the `Tap` is dropped; one made
    /// with `ip tuntap add` stays). Must be called inside a tokio runtime.
    pub fn open(name: &str) -> Result<Tap, TapError> {
        if !valid_ifname(name) {
            return Err(TapError::BadName(name.to_owned()));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TapError::NoRuntime);
        }
        let io_err = |source: io::Error| TapError::Io {
            name: name.to_owned(),
            source,
        };
        let file = sys::tap::attach(name).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => TapError::NoTunDevice,
            Some(libc::EPERM) | Some(libc::EACCES) => TapError::PermissionDenied(name.to_owned()),
            Some(libc::EBUSY) => TapError::Busy(name.to_owned()),
            Some(libc::EINVAL) => TapError::NotTap(name.to_owned()),
            _ => io_err(e),
        })?;
        let host_mac = MacAddress(sys::tap::hw_addr(name).map_err(io_err)?);
        let mtu = sys::tap::mtu(name).map_err(io_err)?;
        let fd = sys::tap::register(file).map_err(io_err)?;
        let mut mac = host_mac;
        mac.0[5] ^= 1;
        let frame = mtu + Capabilities::ETHERNET_HEADER_LEN + SLACK;
        Ok(Tap {
            name: name.to_owned(),
            fd,
            mac,
            host_mac,
            mtu,
            rx: vec![0; frame],
            tx: Vec::with_capacity(frame),
            counters: Cell::default(),
            failed: false,
        })
    }

    /// The same device, presenting `mac` as the appliance's address.
    pub fn with_mac(mut self, mac: MacAddress) -> Tap {
        self.mac = mac;
        self
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MAC address of the host's side of the device.
    pub fn host_mac(&self) -> MacAddress {
        self.host_mac
    }
}

/// A frame read from a [`Tap`].
#[derive(Debug)]
pub struct TapRxToken<'a> {
    frame: &'a mut [u8],
}

impl RxToken for TapRxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room to write one frame to a [`Tap`].
#[derive(Debug)]
pub struct TapTxToken<'a> {
    fd: &'a AsyncFd<File>,
    buf: &'a mut Vec<u8>,
    counters: &'a Cell<NetworkCounters>,
    max: usize,
}

impl TxToken for TapTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut c = self.counters.get();
        if len > self.max {
            // Too long to send: the caller still fills a buffer, not ours.
            let r = f(&mut vec![0; len]);
            c.tx_dropped += 1;
            self.counters.set(c);
            return r;
        }
        self.buf.clear();
        self.buf.resize(len, 0);
        let r = f(self.buf);
        match self.fd.get_ref().write(self.buf) {
            Ok(n) if n == len => {
                c.tx_packets += 1;
                c.tx_bytes += len as u64;
            }
            Ok(_) => c.tx_dropped += 1,
            Err(e) => {
                // EIO while the host side is down; EAGAIN if its queue is full.
                log::trace!("TAP write of {len} bytes dropped: {e}");
                c.tx_dropped += 1;
            }
        }
        self.counters.set(c);
        r
    }
}

impl Network for Tap {
    type RxToken<'a> = TapRxToken<'a>;
    type TxToken<'a> = TapTxToken<'a>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(TapRxToken<'_>, TapTxToken<'_>)> {
        if self.failed {
            return None;
        }
        let n = loop {
            let mut guard = match self.fd.poll_read_ready(cx) {
                Poll::Ready(Ok(g)) => g,
                Poll::Ready(Err(e)) => {
                    log::error!("TAP device {}: {e}; no more frames", self.name);
                    self.failed = true;
                    return None;
                }
                Poll::Pending => return None,
            };
            let rx = &mut self.rx;
            match guard.try_io(|fd| fd.get_ref().read(rx)) {
                Ok(Ok(n)) => break n,
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => {
                    log::error!("TAP device {}: {e}; no more frames", self.name);
                    self.failed = true;
                    return None;
                }
                // Not readable after all: readiness is cleared, poll again.
                Err(_would_block) => {}
            }
        };
        let mut c = self.counters.get();
        c.rx_packets += 1;
        c.rx_bytes += n as u64;
        self.counters.set(c);
        let max = self.mtu + Capabilities::ETHERNET_HEADER_LEN;
        Some((
            TapRxToken {
                frame: &mut self.rx[..n],
            },
            TapTxToken {
                fd: &self.fd,
                buf: &mut self.tx,
                counters: &self.counters,
                max,
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<TapTxToken<'_>> {
        if self.failed {
            return None;
        }
        match self.fd.poll_write_ready(cx) {
            Poll::Ready(Ok(_)) => Some(TapTxToken {
                fd: &self.fd,
                buf: &mut self.tx,
                counters: &self.counters,
                max: self.mtu + Capabilities::ETHERNET_HEADER_LEN,
            }),
            Poll::Ready(Err(_)) | Poll::Pending => None,
        }
    }

    /// Up while the host side is administratively up. The kernel does not
    /// notify changes through the descriptor, so no wake-up is registered:
    /// callers that care poll this on a timer.
    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        match sys::tap::is_up(&self.name) {
            Ok(true) if !self.failed => LinkState::Up,
            _ => LinkState::Down,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::with_mtu(self.mtu)
    }

    fn mac_address(&self) -> MacAddress {
        self.mac
    }

    fn counters(&self) -> NetworkCounters {
        self.counters.get()
    }
}
