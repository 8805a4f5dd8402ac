//! UDP: [`UdpSocket`].

use core::future::poll_fn;
use core::net::{IpAddr, SocketAddr};
use core::task::Poll;

use mirage_core::StackError;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp::{self, PacketBuffer, PacketMetadata};
use smoltcp::wire::IpListenEndpoint;

use crate::stack::Stack;

type Socket = udp::Socket<'static>;

/// IPv4 header (no options) plus UDP header.
const V4_OVERHEAD: usize = 20 + 8;
/// IPv6 header (no extension headers) plus UDP header.
const V6_OVERHEAD: usize = 40 + 8;

/// How long a dropped socket may keep trying to send its queued datagrams
/// (address resolution retries every second).
const UDP_LINGER: core::time::Duration = core::time::Duration::from_secs(3);

/// A bound UDP socket on a [`Stack`].
///
/// Datagrams are not fragmented: one larger than the path MTU allows
/// (MTU − 28 bytes over IPv4, MTU − 48 over IPv6) is refused with
/// [`StackError::MessageTooLong`]. Binding to `0.0.0.0` or `::` receives on
/// every address of both families, so (as on Linux with dual-stack
/// sockets) binding both on one port reports [`StackError::AddrInUse`].
///
/// Datagrams accepted by `send_to` are still sent if the socket is dropped
/// right after (for up to three seconds, while the neighbour is resolved).
///
/// Any number of tasks may send and receive on one socket at once.
#[derive(Debug)]
pub struct UdpSocket {
    stack: Stack,
    handle: SocketHandle,
    local: SocketAddr,
    key: (Option<IpAddr>, u16),
}

impl UdpSocket {
    pub(crate) fn bind(stack: &Stack, addr: SocketAddr) -> Result<UdpSocket, StackError> {
        let mut inner = stack.inner.borrow_mut();
        let ip = inner.check_local(addr)?;
        let port = match addr.port() {
            0 => inner.ephemeral_port(false)?,
            p => p,
        };
        // A dropped socket still draining its queue yields the port.
        inner.reap_udp_orphans(Some(port));
        let clash = inner
            .udp_bound
            .iter()
            .any(|&(a, p)| p == port && (a.is_none() || ip.is_none() || a == ip));
        if clash {
            return Err(StackError::AddrInUse(addr));
        }
        let o = &inner.udp_opts;
        let rx = PacketBuffer::new(
            alloc::vec![PacketMetadata::EMPTY; o.packets],
            alloc::vec![0u8; o.buffer],
        );
        let tx = PacketBuffer::new(
            alloc::vec![PacketMetadata::EMPTY; o.packets],
            alloc::vec![0u8; o.buffer],
        );
        let mut s = Socket::new(rx, tx);
        s.bind(IpListenEndpoint {
            addr: ip.map(Into::into),
            port,
        })
        .map_err(|_| StackError::AddrNotAvailable(addr))?;
        let handle = inner.sockets.add(s);
        let key = (ip, port);
        inner.udp_bound.insert(key);
        let mut local = addr;
        local.set_port(port);
        Ok(UdpSocket {
            stack: stack.clone(),
            handle,
            local,
            key,
        })
    }

    /// The largest payload this socket sends to an address of `to`'s family.
    pub fn max_datagram(&self, to: IpAddr) -> usize {
        let inner = self.stack.inner.borrow();
        let overhead = match to {
            IpAddr::V4(_) => V4_OVERHEAD,
            IpAddr::V6(_) => V6_OVERHEAD,
        };
        let cap = inner
            .sockets
            .get::<Socket>(self.handle)
            .payload_send_capacity();
        inner.mtu.saturating_sub(overhead).min(cap)
    }
}

/// Adds the task to a socket's waiters (once).
fn add_waiter(waiters: &mut alloc::vec::Vec<core::task::Waker>, cx: &core::task::Context<'_>) {
    if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
        waiters.push(cx.waker().clone());
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let mut inner = self.stack.inner.borrow_mut();
        inner.udp_recv_waiters.remove(&self.handle);
        inner.udp_send_waiters.remove(&self.handle);
        let queued = inner.sockets.get::<Socket>(self.handle).send_queue();
        if queued == 0 {
            inner.sockets.remove(self.handle);
            inner.udp_bound.remove(&self.key);
        } else {
            // Datagrams already accepted by send_to still go out.
            let deadline = inner.now + UDP_LINGER;
            inner.udp_orphans.push((self.handle, self.key, deadline));
            inner.wake_runner();
        }
    }
}

impl mirage_core::UdpSocket for UdpSocket {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError> {
        let max = self.max_datagram(to.ip());
        if buf.len() > max {
            return Err(StackError::MessageTooLong {
                len: buf.len(),
                max,
            });
        }
        {
            let inner = self.stack.inner.borrow();
            inner.check_family(to.ip())?;
        }
        if to.port() == 0 || to.ip().is_unspecified() {
            return Err(StackError::Unreachable(to));
        }
        poll_fn(|cx| {
            let mut guard = self.stack.inner.borrow_mut();
            let inner = &mut *guard;
            let s = inner.sockets.get_mut::<Socket>(self.handle);
            match s.send_slice(buf, to) {
                Ok(()) => {
                    inner.counters.udp_tx += 1;
                    inner.wake_runner();
                    Poll::Ready(Ok(()))
                }
                Err(udp::SendError::BufferFull) => {
                    add_waiter(inner.udp_send_waiters.entry(self.handle).or_default(), cx);
                    Poll::Pending
                }
                Err(udp::SendError::Unaddressable) => Poll::Ready(Err(StackError::Unreachable(to))),
            }
        })
        .await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), StackError> {
        poll_fn(|cx| {
            let mut guard = self.stack.inner.borrow_mut();
            let inner = &mut *guard;
            let s = inner.sockets.get_mut::<Socket>(self.handle);
            match s.recv() {
                Ok((data, meta)) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    let from = SocketAddr::from(meta.endpoint);
                    inner.counters.udp_rx += 1;
                    Poll::Ready(Ok((n, from)))
                }
                Err(_) => {
                    add_waiter(inner.udp_recv_waiters.entry(self.handle).or_default(), cx);
                    Poll::Pending
                }
            }
        })
        .await
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
