//! UDP and TCP together on one address: the whole server as one future.

use std::cell::RefCell;
use std::net::SocketAddr;

use futures::future::{Either, select};
use mirage_core::{Stack, StackError, Time};

use super::respond::{Options, Responder};
use super::tcp::{TcpOptions, serve_tcp};
use super::udp::serve_udp;
use super::zoneset::Zones;

/// Everything [`serve`] can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServeOptions {
    /// Answering choices (payload size, memo size).
    pub responder: Options,
    /// TCP limits.
    pub tcp: TcpOptions,
}

/// Returned by [`serve`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The UDP socket could not be bound.
    #[error("cannot bind UDP {addr}: {source}")]
    BindUdp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: StackError,
    },
    /// The TCP listener could not be bound.
    #[error("cannot listen on TCP {addr}: {source}")]
    BindTcp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: StackError,
    },
    /// The UDP socket stopped working.
    #[error("UDP socket failed: {0}")]
    Udp(StackError),
    /// The TCP listener stopped working.
    #[error("TCP listener failed: {0}")]
    Tcp(StackError),
}

/// Serves the zones in `zones` on UDP and TCP at `addr` until either side
/// fails. Swapping the zone set in `zones` takes effect at the next query.
pub async fn serve<S: Stack, T: Time>(
    stack: &S,
    time: &T,
    addr: SocketAddr,
    zones: Zones,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let udp = stack
        .udp_bind(addr)
        .await
        .map_err(|source| ServeError::BindUdp { addr, source })?;
    // With port 0 the UDP socket picked the port; TCP takes the same one.
    let addr = mirage_core::UdpSocket::local_addr(&udp);
    let tcp = stack
        .tcp_listen(addr)
        .await
        .map_err(|source| ServeError::BindTcp { addr, source })?;
    let responder = RefCell::new(Responder::new(zones, options.responder));
    let u = std::pin::pin!(serve_udp(&udp, &responder));
    let t = std::pin::pin!(serve_tcp(&tcp, time, &responder, options.tcp));
    match select(u, t).await {
        Either::Left((r, _)) => r.map_err(ServeError::Udp),
        Either::Right((r, _)) => r.map_err(ServeError::Tcp),
    }
}
