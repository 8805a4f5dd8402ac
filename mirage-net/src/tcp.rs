//! TCP: [`TcpListener`] with a backlog of smoltcp sockets, and [`TcpFlow`].
//!
//! smoltcp has no accept queue: a socket in LISTEN state takes the first
//! SYN for its port and becomes that connection. A listener therefore keeps
//! [`TcpOptions::listen_sockets`](crate::TcpOptions::listen_sockets) sockets
//! listening; after every received segment that changed a socket's state,
//! the runner moves the ones that left LISTEN aside (to `accept` once
//! established) and opens fresh ones, up to
//! [`TcpOptions::backlog`](crate::TcpOptions::backlog) connections waiting
//! in all. While a listener is at its backlog, SYNs for it are dropped
//! before smoltcp sees them (as Linux does with a full accept queue), so
//! clients retransmit them later rather than being refused.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::{Poll, Waker};

use mirage_core::StackError;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, State};
use smoltcp::wire::IpListenEndpoint;

use crate::stack::{Inner, Stack};

type Socket = tcp::Socket<'static>;

/// One listener's sockets, kept in the shared state.
#[derive(Debug)]
pub(crate) struct ListenerState {
    endpoint: IpListenEndpoint,
    /// Sockets in LISTEN or SYN-RECEIVED.
    pending: Vec<SocketHandle>,
    /// Established connections waiting for `accept`.
    ready: VecDeque<SocketHandle>,
    wakers: Vec<Waker>,
    /// Whether the listener has had no LISTEN socket since the last count.
    exhausted: bool,
}

impl Inner {
    /// Moves sockets that left LISTEN to the accept queue and refills every
    /// listener up to its quota of LISTEN sockets.
    pub(crate) fn service_listeners(&mut self) {
        if self.listeners.is_empty() {
            return;
        }
        let mut listeners = core::mem::take(&mut self.listeners);
        for l in listeners.values_mut() {
            self.service_listener(l);
        }
        self.listeners = listeners;
    }

    fn service_listener(&mut self, l: &mut ListenerState) {
        let now = self.now;
        let linger = self.tcp_opts.linger;
        let want = self.tcp_opts.listen_sockets;
        let backlog = self.tcp_opts.backlog;
        let mut listening = 0;
        let mut i = 0;
        let mut woke = false;
        while i < l.pending.len() {
            let h = l.pending[i];
            let s = self.sockets.get::<Socket>(h);
            match s.state() {
                State::Listen => {
                    listening += 1;
                    i += 1;
                }
                State::SynReceived => i += 1,
                State::Closed => {
                    // The handshake failed (timed out); let the RST go out.
                    l.pending.swap_remove(i);
                    self.orphans.push((h, now + linger));
                }
                _ => {
                    l.pending.swap_remove(i);
                    l.ready.push_back(h);
                    woke = true;
                }
            }
        }
        while listening < want && l.pending.len() + l.ready.len() < backlog {
            let mut s = self.new_tcp_socket();
            if s.listen(l.endpoint).is_err() {
                break;
            }
            l.pending.push(self.sockets.add(s));
            listening += 1;
        }
        let port = l.endpoint.port;
        if listening == 0 {
            if !l.exhausted {
                l.exhausted = true;
                self.counters.tcp_backlog_full += 1;
                self.full_ports.push(port);
            }
        } else if l.exhausted {
            l.exhausted = false;
            self.full_ports.retain(|&p| p != port);
        }
        if woke {
            for w in l.wakers.drain(..) {
                w.wake();
            }
        }
    }
}

/// A listening TCP socket of a [`Stack`]; dropping it refuses new
/// connections and resets the ones not yet accepted.
#[derive(Debug)]
pub struct TcpListener {
    stack: Stack,
    id: u64,
    local: SocketAddr,
}

impl TcpListener {
    pub(crate) fn bind(stack: &Stack, addr: SocketAddr) -> Result<TcpListener, StackError> {
        let mut inner = stack.inner.borrow_mut();
        let ip = inner.check_local(addr)?;
        let port = match addr.port() {
            0 => inner.ephemeral_port(true)?,
            p if inner.tcp_port_in_use(p) => return Err(StackError::AddrInUse(addr)),
            p => p,
        };
        let endpoint = IpListenEndpoint {
            addr: ip.map(Into::into),
            port,
        };
        let id = inner.add_listener(ListenerState {
            endpoint,
            pending: Vec::new(),
            ready: VecDeque::new(),
            wakers: Vec::new(),
            exhausted: false,
        });
        inner.service_listeners();
        inner.wake_runner();
        let mut local = addr;
        local.set_port(port);
        Ok(TcpListener {
            stack: stack.clone(),
            id,
            local,
        })
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let mut inner = self.stack.inner.borrow_mut();
        let Some(l) = inner.listeners.remove(&self.id) else {
            return;
        };
        let port = l.endpoint.port;
        inner.full_ports.retain(|&p| p != port);
        for h in l.pending.into_iter().chain(l.ready) {
            let s = inner.sockets.get_mut::<Socket>(h);
            if s.state() == State::Listen {
                inner.sockets.remove(h);
                inner.counters.tcp_sockets_freed += 1;
            } else {
                s.abort();
                inner.orphan_tcp(h);
            }
        }
        inner.wake_runner();
    }
}

impl mirage_core::TcpListener for TcpListener {
    type Flow = TcpFlow;

    async fn accept(&self) -> Result<TcpFlow, StackError> {
        poll_fn(|cx| {
            let mut inner = self.stack.inner.borrow_mut();
            let Some(l) = inner.listeners.get_mut(&self.id) else {
                return Poll::Ready(Err(StackError::Closed));
            };
            match l.ready.pop_front() {
                Some(h) => {
                    inner.counters.tcp_accepted += 1;
                    // Room in the backlog again: open a fresh LISTEN socket.
                    inner.service_listeners();
                    inner.wake_runner();
                    let s = inner.sockets.get::<Socket>(h);
                    let (local, peer) = endpoints(s, self.local);
                    Poll::Ready(Ok(TcpFlow {
                        stack: self.stack.clone(),
                        handle: h,
                        local,
                        peer,
                    }))
                }
                None => {
                    if !l.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                        l.wakers.push(cx.waker().clone());
                    }
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

/// The socket's endpoints as socket addresses (`fallback` when smoltcp
/// has forgotten them, after a reset).
fn endpoints(s: &Socket, fallback: SocketAddr) -> (SocketAddr, SocketAddr) {
    let local = s.local_endpoint().map(SocketAddr::from).unwrap_or(fallback);
    let peer = s
        .remote_endpoint()
        .map(SocketAddr::from)
        .unwrap_or(fallback);
    (local, peer)
}

/// A TCP connection on a [`Stack`].
///
/// Dropping it closes it gracefully: data already written is still sent,
/// then FIN; the socket is freed once the close handshake is over, or
/// aborted after [`TcpOptions::linger`](crate::TcpOptions::linger).
#[derive(Debug)]
pub struct TcpFlow {
    stack: Stack,
    handle: SocketHandle,
    local: SocketAddr,
    peer: SocketAddr,
}

impl TcpFlow {
    pub(crate) async fn connect(stack: &Stack, addr: SocketAddr) -> Result<TcpFlow, StackError> {
        let (handle, started) = {
            let mut inner = stack.inner.borrow_mut();
            inner.check_family(addr.ip())?;
            if addr.ip().is_unspecified() || addr.ip().is_multicast() || addr.port() == 0 {
                return Err(StackError::Unreachable(addr));
            }
            let port = inner.ephemeral_port(true)?;
            let mut s = inner.new_tcp_socket();
            let Inner { iface, .. } = &mut *inner;
            s.connect(iface.context(), addr, port)
                .map_err(|_| StackError::Unreachable(addr))?;
            let h = inner.sockets.add(s);
            inner.wake_runner();
            (h, inner.now)
        };
        // Until established, dropping this guard aborts and frees the socket.
        let mut guard = TcpFlow {
            stack: stack.clone(),
            handle,
            local: addr,
            peer: addr,
        };
        let result = poll_fn(|cx| {
            let mut guard = stack.inner.borrow_mut();
            let inner = &mut *guard;
            let timeout = inner.tcp_opts.timeout;
            let now = inner.now;
            let s = inner.sockets.get_mut::<Socket>(handle);
            match s.state() {
                State::SynSent | State::SynReceived => {
                    s.register_send_waker(cx.waker());
                    Poll::Pending
                }
                State::Closed | State::Listen => {
                    inner.counters.tcp_connect_failed += 1;
                    let timed_out = inner.timed_out.contains(&handle)
                        || timeout.is_some_and(|t| now >= started + t);
                    Poll::Ready(Err(if timed_out {
                        StackError::TimedOut
                    } else {
                        StackError::ConnectionRefused(addr)
                    }))
                }
                _ => {
                    inner.counters.tcp_connected += 1;
                    let (local, peer) = endpoints(s, addr);
                    Poll::Ready(Ok((local, peer)))
                }
            }
        })
        .await;
        match result {
            Ok((local, peer)) => {
                guard.local = local;
                guard.peer = peer;
                Ok(guard)
            }
            Err(e) => Err(e),
        }
    }

    /// The smoltcp state of the connection (for diagnostics and tests).
    pub fn state(&self) -> State {
        self.stack
            .inner
            .borrow()
            .sockets
            .get::<Socket>(self.handle)
            .state()
    }

    /// Aborts the connection: sends RST and frees the socket.
    pub fn abort(self) {
        let mut inner = self.stack.inner.borrow_mut();
        inner.sockets.get_mut::<Socket>(self.handle).abort();
        inner.wake_runner();
    }
}

/// The error for a connection smoltcp closed without our asking.
fn broken(timed_out: bool) -> StackError {
    if timed_out {
        StackError::TimedOut
    } else {
        StackError::ConnectionReset
    }
}

/// The error for a socket that can no longer carry data in one direction.
fn closed_error(state: State, we_closed: bool, timed_out: bool) -> StackError {
    match state {
        State::Closed | State::Listen if !we_closed => broken(timed_out),
        _ => StackError::Closed,
    }
}

impl Drop for TcpFlow {
    fn drop(&mut self) {
        let mut inner = self.stack.inner.borrow_mut();
        let s = inner.sockets.get_mut::<Socket>(self.handle);
        match s.state() {
            State::SynSent | State::SynReceived => s.abort(),
            _ => s.close(),
        }
        inner.orphan_tcp(self.handle);
    }
}

impl mirage_core::TcpFlow for TcpFlow {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StackError> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut guard = self.stack.inner.borrow_mut();
            let inner = &mut *guard;
            let timed_out = inner.timed_out.contains(&self.handle);
            let finished = inner.fin_received.contains(&self.handle);
            let s = inner.sockets.get_mut::<Socket>(self.handle);
            if s.can_recv() {
                let n = s.recv_slice(buf).unwrap_or(0);
                // The window opened: let the runner advertise it.
                inner.wake_runner();
                return Poll::Ready(Ok(n));
            }
            if !s.may_recv() {
                if finished {
                    return Poll::Ready(Ok(0));
                }
                return Poll::Ready(match s.state() {
                    // Reset or timed out before the peer's FIN.
                    State::Closed | State::Listen | State::SynSent | State::SynReceived => {
                        Err(broken(timed_out))
                    }
                    // The peer sent FIN.
                    _ => Ok(0),
                });
            }
            s.register_recv_waker(cx.waker());
            Poll::Pending
        })
        .await
    }

    async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut guard = self.stack.inner.borrow_mut();
            let inner = &mut *guard;
            let timed_out = inner.timed_out.contains(&self.handle);
            let s = inner.sockets.get_mut::<Socket>(self.handle);
            if !s.may_send() {
                let we_closed = matches!(
                    s.state(),
                    State::FinWait1
                        | State::FinWait2
                        | State::Closing
                        | State::TimeWait
                        | State::LastAck
                );
                return Poll::Ready(Err(closed_error(s.state(), we_closed, timed_out)));
            }
            if s.can_send() {
                let n = s.send_slice(buf).unwrap_or(0);
                if n > 0 {
                    inner.wake_runner();
                    return Poll::Ready(Ok(n));
                }
            }
            s.register_send_waker(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Waits until the peer has acknowledged everything written (stronger
    /// than "handed to the network": smoltcp keeps unacknowledged bytes in
    /// the send buffer).
    async fn flush(&mut self) -> Result<(), StackError> {
        poll_fn(|cx| {
            let mut guard = self.stack.inner.borrow_mut();
            let inner = &mut *guard;
            let timed_out = inner.timed_out.contains(&self.handle);
            let s = inner.sockets.get_mut::<Socket>(self.handle);
            if s.send_queue() == 0 {
                return Poll::Ready(Ok(()));
            }
            if matches!(s.state(), State::Closed | State::Listen) {
                return Poll::Ready(Err(broken(timed_out)));
            }
            s.register_send_waker(cx.waker());
            Poll::Pending
        })
        .await
    }

    async fn shutdown(&mut self) -> Result<(), StackError> {
        let mut guard = self.stack.inner.borrow_mut();
        let inner = &mut *guard;
        let timed_out = inner.timed_out.contains(&self.handle);
        let s = inner.sockets.get_mut::<Socket>(self.handle);
        match s.state() {
            State::Closed | State::Listen => Err(broken(timed_out)),
            _ => {
                s.close();
                inner.wake_runner();
                Ok(())
            }
        }
    }

    fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
