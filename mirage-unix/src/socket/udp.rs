//! UDP sockets on host sockets.

use std::io;
use std::net::SocketAddr;

use mirage_core::{StackError, UdpSocket};

use super::error::{to_stack_error, udp_max};

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

impl UdpSocket for SocketUdpSocket {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError> {
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

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
