//! The UDP loop: a batch of datagrams in, at most one datagram out for each.

use std::cell::RefCell;
use std::net::SocketAddr;

use mirage_core::{StackError, UdpSocket};

use super::primary::Handler;
use super::respond::Transport;

/// Largest datagram read; anything longer is cut by the stack.
const MAX_DATAGRAM: usize = 65_535;

/// Most datagrams taken (and answered) per receive call.
const BATCH: usize = 32;

/// Answers queries arriving on `socket` (through a [`Responder`](super::Responder)
/// or a [`Primary`](super::Primary)) until the socket is closed.
///
/// Each turn takes the queries already queued, up to 32, with one
/// [`UdpSocket::recv_many`], answers them in arrival order and hands the
/// answers back with [`UdpSocket::send_many`]; on stacks with batched
/// system calls that is two calls for the whole batch instead of two per
/// query. Receive errors other than [`StackError::Closed`] (an ICMP error
/// for an earlier answer, say) and failed sends are not fatal: the next
/// datagram is served. The buffers (32 receive buffers of 64 KiB, whose
/// pages the kernel touches only as far as queries reach, and 32 response
/// buffers) are allocated once.
pub async fn serve_udp<U: UdpSocket, H: Handler>(
    socket: &U,
    responder: &RefCell<H>,
) -> Result<(), StackError> {
    let mut store = vec![0u8; BATCH * MAX_DATAGRAM];
    let mut bufs: Vec<&mut [u8]> = store.chunks_mut(MAX_DATAGRAM).collect();
    let mut meta = vec![(0, socket.local_addr()); BATCH];
    let mut outs: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(4096)).collect();
    let mut answered = [false; BATCH];
    let mut more = Vec::new();
    loop {
        let n = match socket.recv_many(&mut bufs, &mut meta).await {
            Ok(n) => n,
            Err(StackError::Closed) => return Err(StackError::Closed),
            Err(_) => continue,
        };
        {
            // Released before sending: the TCP loop may share the handler.
            let mut handler = responder.borrow_mut();
            for i in 0..n {
                let (len, from) = meta[i];
                answered[i] = handler.handle(
                    &bufs[i][..len],
                    Transport::Udp,
                    from,
                    &mut outs[i],
                    &mut more,
                );
                // Over UDP an answer is one datagram.
                more.clear();
            }
        }
        let msgs: Vec<(&[u8], SocketAddr)> = (0..n)
            .filter(|&i| answered[i])
            .map(|i| (outs[i].as_slice(), meta[i].1))
            .collect();
        let mut sent = 0;
        while sent < msgs.len() {
            // A lost answer is retried by the client; skip one that fails.
            sent += match socket.send_many(&msgs[sent..]).await {
                Ok(k) => k.max(1),
                Err(_) => 1,
            };
        }
    }
}
