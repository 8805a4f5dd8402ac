//! [`SocketStack`]: the mirage-core [`Stack`] on the host kernel's sockets.
//!
//! Listeners and UDP sockets are created with `socket2` so that
//! `SO_REUSEADDR` and `SO_REUSEPORT` can be set before `bind`. With
//! [`SocketStack::new`] (what [`crate::run()`] uses) several
//! instances (one per core, or a new process beside an old one during a
//! restart) can then share a port, and the kernel spreads connections and
//! datagrams between them. IPv6 sockets are `IPV6_V6ONLY`, so `[::]` means
//! every IPv6 address, as the [`Stack`] contract says, and never IPv4.
//! Every TCP flow has `TCP_NODELAY` set: protocols here write whole
//! messages and want them sent at once. A region of a [`crate::DirKv`]
//! file ([`mirage_core::TcpFlow::send_region`]) goes out with
//! `sendfile(2)`, never copied through our memory.
//!
//! The sockets are registered with the tokio reactor of the thread that
//! creates them, so they must be created and used inside a tokio runtime
//! (as [`crate::run()`] provides).

mod error;
mod sendfile;
mod tcp;
mod udp;

use std::net::SocketAddr;

use mirage_core::{Stack, StackError};
use socket2::{Domain, Protocol, Socket, Type};

pub use error::{UDP_MAX_V4, UDP_MAX_V6, to_stack_error};
pub use tcp::{SocketTcpFlow, SocketTcpListener};
pub use udp::SocketUdpSocket;

/// Connections a listener queues before the kernel refuses more.
pub const LISTEN_BACKLOG: i32 = 1024;

/// The host kernel's TCP/IP stack as a mirage-core [`Stack`].
///
/// A small `Copy` value: it holds only the socket options to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketStack {
    reuse_port: bool,
}

impl Default for SocketStack {
    fn default() -> Self {
        SocketStack::new()
    }
}

impl SocketStack {
    /// A stack whose listeners and UDP sockets share their port with other
    /// sockets that also ask for it (`SO_REUSEPORT`).
    pub const fn new() -> Self {
        SocketStack { reuse_port: true }
    }

    /// A stack whose listeners and UDP sockets own their port exclusively:
    /// binding a port in use fails with [`StackError::AddrInUse`].
    pub const fn exclusive() -> Self {
        SocketStack { reuse_port: false }
    }

    /// Whether sockets are bound with `SO_REUSEPORT`.
    pub const fn reuses_port(&self) -> bool {
        self.reuse_port
    }

    /// A socket of `addr`'s family, with the sharing options set, bound to `addr`.
    fn bound_socket(&self, addr: SocketAddr, ty: Type, proto: Protocol) -> std::io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
        // On a listener SO_REUSEADDR only allows binding over connections in
        // TIME_WAIT; on a UDP socket it would let a second socket share the
        // port, so it is set there only when sharing is asked for.
        if ty == Type::STREAM || self.reuse_port {
            socket.set_reuse_address(true)?;
        }
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        Ok(socket)
    }
}

/// Sockets register with the current tokio reactor; outside a runtime that
/// is an error rather than tokio's panic.
fn in_runtime() -> Result<(), StackError> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(StackError::Io(Box::new(std::io::Error::other(
            "SocketStack is used outside a tokio runtime",
        )))),
    }
}

impl Stack for SocketStack {
    type TcpFlow = SocketTcpFlow;
    type TcpListener = SocketTcpListener;
    type UdpSocket = SocketUdpSocket;

    async fn tcp_listen(&self, addr: SocketAddr) -> Result<SocketTcpListener, StackError> {
        in_runtime()?;
        let err = |e| to_stack_error(e, addr);
        let socket = self
            .bound_socket(addr, Type::STREAM, Protocol::TCP)
            .map_err(err)?;
        socket.listen(LISTEN_BACKLOG).map_err(err)?;
        let std: std::net::TcpListener = socket.into();
        SocketTcpListener::from_std(std).map_err(err)
    }

    async fn tcp_connect(&self, addr: SocketAddr) -> Result<SocketTcpFlow, StackError> {
        in_runtime()?;
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| to_stack_error(e, addr))?;
        SocketTcpFlow::new(stream).map_err(|e| to_stack_error(e, addr))
    }

    async fn udp_bind(&self, addr: SocketAddr) -> Result<SocketUdpSocket, StackError> {
        in_runtime()?;
        let err = |e| to_stack_error(e, addr);
        let socket = self
            .bound_socket(addr, Type::DGRAM, Protocol::UDP)
            .map_err(err)?;
        let std: std::net::UdpSocket = socket.into();
        SocketUdpSocket::from_std(std).map_err(err)
    }
}
