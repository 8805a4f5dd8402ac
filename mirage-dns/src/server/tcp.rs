//! DNS over TCP (RFC 7766): 2-byte length framing, several queries per
//! connection (pipelined), idle timeouts through `Time`, and a bound on
//! concurrent connections, all driven inside one future.

use std::cell::RefCell;
use std::pin::pin;
use std::time::Duration;

use std::future::{Future, poll_fn};
use std::task::Poll;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use mirage_core::{StackError, TcpFlow, TcpListener, Time, timeout};

use super::primary::Handler;
use super::respond::Transport;

/// Limits for the TCP side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOptions {
    /// How long a connection may sit without a complete query (or without
    /// taking our answer) before it is closed (RFC 7766 §6.2.3).
    pub idle_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            idle_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// Accepts connections on `listener` and answers every query on them, until
/// accepting fails with [`StackError::Closed`].
pub async fn serve_tcp<L: TcpListener, T: Time, H: Handler>(
    listener: &L,
    time: &T,
    responder: &RefCell<H>,
    options: TcpOptions,
) -> Result<(), StackError> {
    let mut conns = FuturesUnordered::new();
    loop {
        if conns.len() >= options.max_connections.max(1) {
            conns.next().await;
            continue;
        }
        // One accept future lives until a connection arrives (so no stack
        // has to make accept cancel-safe); meanwhile the connections run.
        let mut accept = pin!(listener.accept());
        let accepted = poll_fn(|cx| {
            while let Poll::Ready(Some(())) = conns.poll_next_unpin(cx) {}
            accept.as_mut().poll(cx)
        })
        .await;
        match accepted {
            Ok(flow) => conns.push(connection(flow, time, responder, options.idle_timeout)),
            Err(StackError::Closed) => return Err(StackError::Closed),
            // A connection that died before we took it: keep listening.
            Err(_) => {}
        }
    }
}

/// Serves one connection until the peer closes it, it idles out, or it breaks framing.
async fn connection<F: TcpFlow, T: Time, H: Handler>(
    mut flow: F,
    time: &T,
    responder: &RefCell<H>,
    idle: Duration,
) {
    let peer = flow.peer_addr();
    let mut more: Vec<Vec<u8>> = Vec::new();
    let mut inbuf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 4096];
    let mut out = Vec::with_capacity(1024);
    let mut frame = Vec::with_capacity(1024);
    'conn: loop {
        // Answer every complete query already buffered (pipelining).
        let mut used = 0;
        while inbuf.len() - used >= 2 {
            let len = u16::from_be_bytes([inbuf[used], inbuf[used + 1]]) as usize;
            if inbuf.len() - used - 2 < len {
                break;
            }
            let query = &inbuf[used + 2..used + 2 + len];
            used += 2 + len;
            let send =
                responder
                    .borrow_mut()
                    .handle(query, Transport::Tcp, peer, &mut out, &mut more);
            if send {
                frame.clear();
                frame.extend_from_slice(&(out.len() as u16).to_be_bytes());
                frame.extend_from_slice(&out);
                if !matches!(
                    timeout(time, idle, flow.write_all(&frame)).await,
                    Ok(Ok(()))
                ) {
                    break 'conn;
                }
                // The rest of a zone transfer, message by message.
                for m in more.drain(..) {
                    frame.clear();
                    frame.extend_from_slice(&(m.len() as u16).to_be_bytes());
                    frame.extend_from_slice(&m);
                    if !matches!(
                        timeout(time, idle, flow.write_all(&frame)).await,
                        Ok(Ok(()))
                    ) {
                        break 'conn;
                    }
                }
            }
        }
        inbuf.drain(..used);
        match timeout(time, idle, flow.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => inbuf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let _ = timeout(time, idle, flow.close()).await;
}
