//! [`UnixStack`]: whichever [`Stack`] the boot parameters chose.
//!
//! `--net socket` gives the host kernel's stack ([`SocketStack`]); `--net
//! tap:NAME` gives our own TCP/IP stack over a TAP device. An appliance's
//! `start` is generic over [`Stack`], and [`crate::Devices::stack`] hands it
//! this enum, which dispatches each call to the chosen backend.

use std::net::SocketAddr;

use mirage_core::{Region, SendRegionError, Stack, StackError, TcpFlow, TcpListener, UdpSocket};

use crate::socket::{SocketStack, SocketTcpFlow, SocketTcpListener, SocketUdpSocket};

/// The transport stack chosen by `--net`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UnixStack {
    /// The host kernel's sockets (`--net socket`).
    Socket(SocketStack),
    /// mirage-net's TCP/IP stack over a TAP device (`--net tap:NAME`).
    Net(mirage_net::Stack),
}

/// A TCP connection of a [`UnixStack`].
#[derive(Debug)]
#[non_exhaustive]
pub enum UnixTcpFlow {
    /// On host sockets.
    Socket(SocketTcpFlow),
    /// On mirage-net.
    Net(mirage_net::TcpFlow),
}

/// A TCP listener of a [`UnixStack`].
#[derive(Debug)]
#[non_exhaustive]
pub enum UnixTcpListener {
    /// On host sockets.
    Socket(SocketTcpListener),
    /// On mirage-net.
    Net(mirage_net::TcpListener),
}

/// A UDP socket of a [`UnixStack`].
#[derive(Debug)]
#[non_exhaustive]
pub enum UnixUdpSocket {
    /// On host sockets.
    Socket(SocketUdpSocket),
    /// On mirage-net.
    Net(mirage_net::UdpSocket),
}

/// Calls `$body` with `$x` bound to the inner value of whichever variant
/// `$e` is.
macro_rules! dispatch {
    ($ty:ident, $e:expr, $x:ident => $body:expr) => {
        match $e {
            $ty::Socket($x) => $body,
            $ty::Net($x) => $body,
        }
    };
}

impl Stack for UnixStack {
    type TcpFlow = UnixTcpFlow;
    type TcpListener = UnixTcpListener;
    type UdpSocket = UnixUdpSocket;

    async fn tcp_listen(&self, addr: SocketAddr) -> Result<UnixTcpListener, StackError> {
        match self {
            UnixStack::Socket(s) => s.tcp_listen(addr).await.map(UnixTcpListener::Socket),
            UnixStack::Net(s) => s.tcp_listen(addr).await.map(UnixTcpListener::Net),
        }
    }

    async fn tcp_connect(&self, addr: SocketAddr) -> Result<UnixTcpFlow, StackError> {
        match self {
            UnixStack::Socket(s) => s.tcp_connect(addr).await.map(UnixTcpFlow::Socket),
            UnixStack::Net(s) => s.tcp_connect(addr).await.map(UnixTcpFlow::Net),
        }
    }

    async fn udp_bind(&self, addr: SocketAddr) -> Result<UnixUdpSocket, StackError> {
        match self {
            UnixStack::Socket(s) => s.udp_bind(addr).await.map(UnixUdpSocket::Socket),
            UnixStack::Net(s) => s.udp_bind(addr).await.map(UnixUdpSocket::Net),
        }
    }
}

impl TcpListener for UnixTcpListener {
    type Flow = UnixTcpFlow;

    async fn accept(&self) -> Result<UnixTcpFlow, StackError> {
        match self {
            UnixTcpListener::Socket(l) => l.accept().await.map(UnixTcpFlow::Socket),
            UnixTcpListener::Net(l) => l.accept().await.map(UnixTcpFlow::Net),
        }
    }

    fn local_addr(&self) -> SocketAddr {
        dispatch!(UnixTcpListener, self, l => l.local_addr())
    }
}

impl TcpFlow for UnixTcpFlow {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StackError> {
        dispatch!(UnixTcpFlow, self, f => f.read(buf).await)
    }

    async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError> {
        dispatch!(UnixTcpFlow, self, f => f.write(buf).await)
    }

    async fn write_all(&mut self, buf: &[u8]) -> Result<(), StackError> {
        dispatch!(UnixTcpFlow, self, f => f.write_all(buf).await)
    }

    async fn write_all_vectored(&mut self, bufs: &[&[u8]]) -> Result<(), StackError> {
        dispatch!(UnixTcpFlow, self, f => f.write_all_vectored(bufs).await)
    }

    async fn send_region(&mut self, head: &[u8], region: &Region) -> Result<(), SendRegionError> {
        dispatch!(UnixTcpFlow, self, f => f.send_region(head, region).await)
    }

    async fn flush(&mut self) -> Result<(), StackError> {
        dispatch!(UnixTcpFlow, self, f => f.flush().await)
    }

    async fn shutdown(&mut self) -> Result<(), StackError> {
        dispatch!(UnixTcpFlow, self, f => f.shutdown().await)
    }

    async fn close(self) -> Result<(), StackError> {
        dispatch!(UnixTcpFlow, self, f => f.close().await)
    }

    fn peer_addr(&self) -> SocketAddr {
        dispatch!(UnixTcpFlow, self, f => f.peer_addr())
    }

    fn local_addr(&self) -> SocketAddr {
        dispatch!(UnixTcpFlow, self, f => f.local_addr())
    }
}

impl UdpSocket for UnixUdpSocket {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError> {
        dispatch!(UnixUdpSocket, self, s => s.send_to(buf, to).await)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), StackError> {
        dispatch!(UnixUdpSocket, self, s => s.recv_from(buf).await)
    }

    async fn recv_many(
        &self,
        bufs: &mut [&mut [u8]],
        meta: &mut [(usize, SocketAddr)],
    ) -> Result<usize, StackError> {
        dispatch!(UnixUdpSocket, self, s => s.recv_many(bufs, meta).await)
    }

    async fn send_many(&self, msgs: &[(&[u8], SocketAddr)]) -> Result<usize, StackError> {
        dispatch!(UnixUdpSocket, self, s => s.send_many(msgs).await)
    }

    fn local_addr(&self) -> SocketAddr {
        dispatch!(UnixUdpSocket, self, s => s.local_addr())
    }
}
