//! The transport signature: [`Stack`] (TCP and UDP over IPv4 and IPv6).
//!
//! Protocols (DNS, HTTP, Git) are written against this trait and never see
//! sockets. The host kernel provides it on Unix (mirage-unix's
//! `SocketStack`), our own smoltcp-based stack provides it over any
//! [`crate::Network`] (mirage-net), and [`crate::mem::MemInternet`] provides
//! it in memory for simulations.

use alloc::boxed::Box;
use core::net::SocketAddr;

use crate::region::{Region, SendRegionError};

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// Another socket already uses the local address.
    #[error("address {0} is already in use")]
    AddrInUse(SocketAddr),
    /// The local address is not one of this stack's.
    #[error("address {0} is not available on this stack")]
    AddrNotAvailable(SocketAddr),
    /// The address family (IPv4 or IPv6) is not configured on this stack.
    #[error("the stack has no {0} address configured")]
    FamilyNotConfigured(&'static str),
    /// The peer refused the connection (RST to our SYN, ICMP port unreachable).
    #[error("connection to {0} refused")]
    ConnectionRefused(SocketAddr),
    /// The peer reset an established connection.
    #[error("connection reset by peer")]
    ConnectionReset,
    /// The connection was already shut down for writing, or closed.
    #[error("the connection is closed")]
    Closed,
    /// The peer stopped answering (retransmissions or keep-alives exhausted).
    #[error("the connection timed out")]
    TimedOut,
    /// No route to the destination.
    #[error("no route to {0}")]
    Unreachable(SocketAddr),
    /// A datagram is larger than the stack can send.
    #[error("a datagram of {len} bytes is larger than the maximum of {max}")]
    MessageTooLong {
        /// The datagram's length.
        len: usize,
        /// The largest datagram accepted.
        max: usize,
    },
    /// The stack ran out of sockets or buffers.
    #[error("the stack has no free sockets or buffers")]
    NoBuffers,
    /// The host or backend reported another failure.
    #[error("transport I/O error: {0}")]
    Io(#[source] Box<dyn core::error::Error + Send + Sync + 'static>),
}

/// A TCP connection: a reliable, ordered byte stream with a peer.
///
/// Dropping a flow closes it gracefully: data already written is still
/// delivered, then FIN. [`TcpFlow::close`] does the same and reports errors.
#[allow(async_fn_in_trait)]
pub trait TcpFlow {
    /// Reads some bytes into `buf`, returning how many; `Ok(0)` means the
    /// peer finished sending (or `buf` is empty).
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StackError>;

    /// Writes some of `buf`, returning how many bytes were accepted (at
    /// least one unless `buf` is empty).
    async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError>;

    /// Writes all of `buf`.
    async fn write_all(&mut self, mut buf: &[u8]) -> Result<(), StackError> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            if n == 0 {
                return Err(StackError::Closed);
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Writes all of `bufs`, in order, as if concatenated: a response head
    /// and its body in one call. Backends with gather writes (`writev`)
    /// override it to send them in one system call without copying; the
    /// default writes each buffer with [`TcpFlow::write_all`].
    async fn write_all_vectored(&mut self, bufs: &[&[u8]]) -> Result<(), StackError> {
        for buf in bufs {
            self.write_all(buf).await?;
        }
        Ok(())
    }

    /// Writes `head`, then the bytes of `region` (lent by a store's
    /// [`KvRo::region`](crate::KvRo::region)): a response head and a file's
    /// bytes, say. Backends that can send a region of their own store
    /// without copying it through memory (the host's `sendfile(2)` for a
    /// directory store's file) override it, and may let the head and the
    /// first bytes leave in one segment. The default is
    /// [`send_region_by_copy`](crate::region::send_region_by_copy): the
    /// region is read in bounded chunks and written.
    ///
    /// On error the flow is in an unknown state (part of the region may
    /// have been sent) and should be dropped; the error says how far it got.
    async fn send_region(&mut self, head: &[u8], region: &Region) -> Result<(), SendRegionError> {
        crate::region::send_region_by_copy(self, head, region).await
    }

    /// Waits until everything written has been handed to the network
    /// (sent, though not necessarily acknowledged).
    async fn flush(&mut self) -> Result<(), StackError> {
        Ok(())
    }

    /// Finishes the sending half (sends FIN); reading may continue.
    async fn shutdown(&mut self) -> Result<(), StackError>;

    /// Flushes, shuts down and releases the connection.
    async fn close(mut self) -> Result<(), StackError>
    where
        Self: Sized,
    {
        self.flush().await?;
        self.shutdown().await
    }

    /// The peer's address.
    fn peer_addr(&self) -> SocketAddr;

    /// Our end's address.
    fn local_addr(&self) -> SocketAddr;
}

/// A listening TCP socket.
#[allow(async_fn_in_trait)]
pub trait TcpListener {
    /// The connections it yields.
    type Flow: TcpFlow;

    /// Waits for the next incoming connection. Takes `&self` so a server can
    /// accept while it serves the connections it has.
    async fn accept(&self) -> Result<Self::Flow, StackError>;

    /// The address it listens on (with the actual port if 0 was asked for).
    fn local_addr(&self) -> SocketAddr;
}

/// A bound UDP socket.
#[allow(async_fn_in_trait)]
pub trait UdpSocket {
    /// Sends one datagram to `to`.
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError>;

    /// Receives one datagram into `buf`, returning its length and sender. A
    /// datagram longer than `buf` is truncated to fit.
    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), StackError>;

    /// Receives a batch of datagrams: waits until at least one is ready,
    /// then takes those already queued, without waiting again, up to
    /// `bufs.len().min(meta.len())`. Datagram `i` goes into `bufs[i]`
    /// (truncated to fit, as in [`recv_from`](Self::recv_from)) and its
    /// length and sender into `meta[i]`; returns how many were received
    /// (at least 1, or 0 at once when either slice is empty). Entries
    /// past the returned count are left as they were.
    ///
    /// Errors are those of [`recv_from`](Self::recv_from), reported only
    /// when no datagram was received. The default makes one
    /// [`recv_from`](Self::recv_from) call; stacks that can take several
    /// datagrams in one step (the host's `recvmmsg`) override it.
    async fn recv_many(
        &self,
        bufs: &mut [&mut [u8]],
        meta: &mut [(usize, SocketAddr)],
    ) -> Result<usize, StackError> {
        let (Some(buf), Some(slot)) = (bufs.first_mut(), meta.first_mut()) else {
            return Ok(0);
        };
        *slot = self.recv_from(buf).await?;
        Ok(1)
    }

    /// Sends a batch of datagrams, `msgs[i].0` to `msgs[i].1`, in order,
    /// and returns how many of the leading ones were sent: at least 1, or
    /// 0 when `msgs` is empty. It may send fewer than all of them (a
    /// stack's batch limit, or an error on a later datagram, which is
    /// then not reported); the caller sends the rest with another call.
    ///
    /// An error means the first datagram was not sent, for the reasons of
    /// [`send_to`](Self::send_to); skipping it and sending the rest is up
    /// to the caller. The default is a loop of [`send_to`](Self::send_to)
    /// calls stopping at the first error; stacks that can hand over
    /// several datagrams in one step (the host's `sendmmsg`) override it.
    async fn send_many(&self, msgs: &[(&[u8], SocketAddr)]) -> Result<usize, StackError> {
        for (i, (buf, to)) in msgs.iter().enumerate() {
            if let Err(e) = self.send_to(buf, *to).await {
                return if i == 0 { Err(e) } else { Ok(i) };
            }
        }
        Ok(msgs.len())
    }

    /// The address it is bound to (with the actual port if 0 was asked for).
    fn local_addr(&self) -> SocketAddr;
}

/// A TCP/UDP stack over IPv4 and IPv6.
///
/// Binding to an unspecified address (`0.0.0.0`, `::`) listens on every
/// address of that family; port 0 picks a free port.
#[allow(async_fn_in_trait)]
pub trait Stack {
    /// The TCP connection type.
    type TcpFlow: TcpFlow;
    /// The listening socket type.
    type TcpListener: TcpListener<Flow = Self::TcpFlow>;
    /// The UDP socket type.
    type UdpSocket: UdpSocket;

    /// Listens for TCP connections on `addr`.
    async fn tcp_listen(&self, addr: SocketAddr) -> Result<Self::TcpListener, StackError>;

    /// Opens a TCP connection to `addr`.
    async fn tcp_connect(&self, addr: SocketAddr) -> Result<Self::TcpFlow, StackError>;

    /// Binds a UDP socket to `addr`.
    async fn udp_bind(&self, addr: SocketAddr) -> Result<Self::UdpSocket, StackError>;
}

macro_rules! forward_stack {
    ($($ptr:ty),*) => {$(
        impl<T: Stack + ?Sized> Stack for $ptr {
            type TcpFlow = T::TcpFlow;
            type TcpListener = T::TcpListener;
            type UdpSocket = T::UdpSocket;
            async fn tcp_listen(&self, addr: SocketAddr) -> Result<Self::TcpListener, StackError> {
                (**self).tcp_listen(addr).await
            }
            async fn tcp_connect(&self, addr: SocketAddr) -> Result<Self::TcpFlow, StackError> {
                (**self).tcp_connect(addr).await
            }
            async fn udp_bind(&self, addr: SocketAddr) -> Result<Self::UdpSocket, StackError> {
                (**self).udp_bind(addr).await
            }
        }
    )*};
}
forward_stack!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);
