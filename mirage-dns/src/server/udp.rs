//! The UDP loop: one datagram in, at most one datagram out.

use std::cell::RefCell;

use mirage_core::{StackError, UdpSocket};

use super::primary::Handler;
use super::respond::Transport;

/// Largest datagram read; anything longer is cut by the stack.
const MAX_DATAGRAM: usize = 65_535;

/// Answers queries arriving on `socket` (through a [`Responder`](super::Responder)
/// or a [`Primary`](super::Primary)) until the socket is closed.
///
/// Receive errors other than [`StackError::Closed`] (an ICMP error for an
/// earlier answer, say) and failed sends are not fatal: the next datagram
/// is served. The receive and response buffers are allocated once.
pub async fn serve_udp<U: UdpSocket, H: Handler>(
    socket: &U,
    responder: &RefCell<H>,
) -> Result<(), StackError> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut out = Vec::with_capacity(4096);
    let mut more = Vec::new();
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(StackError::Closed) => return Err(StackError::Closed),
            Err(_) => continue,
        };
        let send =
            responder
                .borrow_mut()
                .handle(&buf[..n], Transport::Udp, from, &mut out, &mut more);
        // Over UDP an answer is one datagram.
        more.clear();
        if send {
            // A lost answer is retried by the client; nothing to do here.
            let _ = socket.send_to(&out, from).await;
        }
    }
}
