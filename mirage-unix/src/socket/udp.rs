//! UDP sockets on host sockets.

use std::io;
use std::net::SocketAddr;

use mirage_core::{StackError, UdpSocket};

use super::error::{to_stack_error, udp_max};
#[cfg(target_os = "linux")]
use crate::sys;
#[cfg(target_os = "linux")]
use std::os::fd::AsFd;
#[cfg(target_os = "linux")]
use tokio::io::Interest;

/// A bound host UDP socket; see [`super::SocketStack`].
#[derive(Debug)]
pub struct SocketUdpSocket {
    inner: tokio::net::UdpSocket,
    local: SocketAddr,
}

impl SocketUdpSocket {
    /// Registers a bound (non-blocking) std socket with the current tokio runtime.
    pub fn from_std(std: std::net::UdpSocket) -> io::Result<Self> {
        std.set_nonblocking(true)?;
        let inner = tokio::net::UdpSocket::from_std(std)?;
        let local = inner.local_addr()?;
        Ok(SocketUdpSocket { inner, local })
    }
}

impl SocketUdpSocket {
    /// What [`UdpSocket::send_to`] refuses before asking the kernel: a
    /// datagram too long for the address family, or a destination of the
    /// other family.
    fn check(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError> {
        let max = udp_max(&to);
        if buf.len() > max {
            return Err(StackError::MessageTooLong {
                len: buf.len(),
                max,
            });
        }
        if to.is_ipv4() != self.local.is_ipv4() {
            let family = if to.is_ipv4() { "IPv4" } else { "IPv6" };
            return Err(StackError::FamilyNotConfigured(family));
        }
        Ok(())
    }
}

/// `recv_many` and `send_many` use `recvmmsg(2)` and `sendmmsg(2)` on Linux
/// (up to 32 datagrams a call), under tokio's readiness:
/// wait until the socket is readable (writable), try the call, and wait
/// again if the kernel says it would block. Errors map as for the single
/// calls.
impl UdpSocket for SocketUdpSocket {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError> {
        self.check(buf, to)?;
        match self.inner.send_to(buf, to).await {
            Ok(_) => Ok(()),
            Err(e) => Err(to_stack_error(e, to)),
        }
    }

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), StackError> {
        loop {
            match self.inner.recv_from(buf).await {
                Ok(r) => return Ok(r),
                // An ICMP error for an earlier datagram: not about this one.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(to_stack_error(e, self.local)),
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn recv_many(
        &self,
        bufs: &mut [&mut [u8]],
        meta: &mut [(usize, SocketAddr)],
    ) -> Result<usize, StackError> {
        if bufs.is_empty() || meta.is_empty() {
            return Ok(0);
        }
        loop {
            if let Err(e) = self.inner.readable().await {
                return Err(to_stack_error(e, self.local));
            }
            let fd = self.inner.as_fd();
            match self
                .inner
                .try_io(Interest::READABLE, || sys::recv_many(fd, bufs, meta))
            {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                // An ICMP error for an earlier datagram: not about these.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(to_stack_error(e, self.local)),
            }
        }
    }

    #[cfg(target_os = "linux")]
    async fn send_many(&self, msgs: &[(&[u8], SocketAddr)]) -> Result<usize, StackError> {
        let Some((first, to)) = msgs.first() else {
            return Ok(0);
        };
        self.check(first, *to)?;
        // The kernel is given the leading datagrams that pass the checks;
        // the first one that fails is reported by the caller's next call.
        let valid = 1 + msgs[1..]
            .iter()
            .take_while(|(buf, to)| self.check(buf, *to).is_ok())
            .count();
        let msgs = &msgs[..valid];
        loop {
            if let Err(e) = self.inner.writable().await {
                return Err(to_stack_error(e, *to));
            }
            let fd = self.inner.as_fd();
            match self
                .inner
                .try_io(Interest::WRITABLE, || sys::send_many(fd, msgs))
            {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(to_stack_error(e, *to)),
            }
        }
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
