//! One exchange with one server: a UDP datagram and the wait for its
//! answer, or a TCP connection with 2-byte length framing (RFC 1035 §4.2.2,
//! RFC 7766).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mirage_core::{Instant, Stack, TcpFlow, Time, UdpSocket, timeout_at};

use super::check::{Rejected, Sent, check_response};
use super::error::ResolveError;
use crate::wire::Message;

/// How a UDP attempt ended without a transport error.
#[derive(Debug)]
pub(crate) enum UdpOutcome {
    /// An answer that passed [`check_response`].
    Answer(Message),
    /// The deadline passed; with the reason the last ignored datagram
    /// was refused, if any came.
    Silent(Option<Rejected>),
}

/// The unspecified address of `server`'s family, port 0: the stack picks
/// the source address and a free (on host stacks, random) source port.
fn any_port(server: SocketAddr) -> SocketAddr {
    let ip = match server {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// Sends `query` for `sent` from a fresh socket and waits until `deadline`
/// for a datagram that [`check_response`] accepts; others are ignored.
/// Datagrams longer than `buf_size` are cut and so fail to parse.
pub(crate) async fn udp_exchange<S: Stack, T: Time>(
    stack: &S,
    time: &T,
    sent: &Sent,
    query: &[u8],
    buf_size: usize,
    deadline: Instant,
) -> Result<UdpOutcome, ResolveError> {
    let server = sent.server;
    let transport = |source| ResolveError::Transport { server, source };
    let socket = stack.udp_bind(any_port(server)).await.map_err(transport)?;
    socket.send_to(query, server).await.map_err(transport)?;
    let mut buf = vec![0u8; buf_size];
    let mut last = None;
    loop {
        match timeout_at(time, deadline, socket.recv_from(&mut buf)).await {
            Err(_elapsed) => return Ok(UdpOutcome::Silent(last)),
            Ok(Err(e)) => return Err(transport(e)),
            Ok(Ok((n, from))) => match check_response(sent, from, &buf[..n]) {
                Ok(m) => return Ok(UdpOutcome::Answer(m)),
                Err(r) => {
                    log::debug!("ignored a datagram from {from} asking {server}: {r:?}");
                    last = Some(r);
                }
            },
        }
    }
}

/// Asks `query` for `sent` over a new TCP connection, all before `deadline`.
pub(crate) async fn tcp_exchange<S: Stack, T: Time>(
    stack: &S,
    time: &T,
    sent: &Sent,
    query: &[u8],
    deadline: Instant,
) -> Result<Message, ResolveError> {
    let server = sent.server;
    match timeout_at(time, deadline, tcp_inner(stack, sent, query)).await {
        Ok(r) => r,
        Err(_elapsed) => Err(ResolveError::Timeout {
            server,
            attempts: 1,
        }),
    }
}

async fn tcp_inner<S: Stack>(
    stack: &S,
    sent: &Sent,
    query: &[u8],
) -> Result<Message, ResolveError> {
    let server = sent.server;
    let transport = |source| ResolveError::Transport { server, source };
    let mut flow = stack.tcp_connect(server).await.map_err(transport)?;
    let len = u16::try_from(query.len()).map_err(|_| {
        transport(mirage_core::StackError::MessageTooLong {
            len: query.len(),
            max: usize::from(u16::MAX),
        })
    })?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    flow.write_all(&framed).await.map_err(transport)?;
    let mut prefix = [0u8; 2];
    read_exact(&mut flow, &mut prefix, server).await?;
    // At most 65535 bytes: the prefix bounds the allocation.
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    read_exact(&mut flow, &mut body, server).await?;
    let peer = flow.peer_addr();
    // The answer is read; a failing close changes nothing about it.
    let _ = flow.close().await;
    check_response(sent, peer, &body).map_err(|r| match r {
        Rejected::Mismatch(reason) => ResolveError::Mismatched { server, reason },
        Rejected::Malformed(source) => ResolveError::Malformed { server, source },
    })
}

async fn read_exact<F: TcpFlow>(
    flow: &mut F,
    mut buf: &mut [u8],
    server: SocketAddr,
) -> Result<(), ResolveError> {
    while !buf.is_empty() {
        let n = flow
            .read(buf)
            .await
            .map_err(|source| ResolveError::Transport { server, source })?;
        if n == 0 {
            return Err(ResolveError::TcpShort { server });
        }
        buf = &mut buf[n..];
    }
    Ok(())
}
