//! [`MemInternet`]: an in-memory IP network whose hosts are [`MemStack`]s.
//!
//! TCP flows are pairs of bounded byte pipes and UDP sockets exchange whole
//! datagrams, with no packets underneath: fast, exact and deterministic, for
//! testing servers written against [`Stack`] without sockets or a TCP/IP
//! stack. (To test through real TCP/IP, use mirage-net over
//! [`super::Switch`].)

use alloc::collections::{BTreeMap, VecDeque};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::net::{IpAddr, SocketAddr};
use core::task::{Poll, Waker};

use crate::stack::{Stack, StackError, TcpFlow, TcpListener, UdpSocket};

/// Bytes buffered in each direction of a TCP flow before writers wait.
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Datagrams queued on a UDP socket before new ones are dropped.
pub const UDP_QUEUE: usize = 256;
/// The largest UDP payload accepted.
pub const UDP_MAX: usize = 65_507;
/// Pending connections a listener holds before refusing new ones.
pub const BACKLOG: usize = 128;

#[derive(Debug, Default)]
struct Pipe {
    buf: VecDeque<u8>,
    /// The writer sent FIN.
    finished: bool,
    /// The reader is gone: writes fail.
    reader_gone: bool,
    /// The connection was reset.
    reset: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Pipe {
    fn wake_reader(&mut self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }
    fn wake_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }
}

#[derive(Debug, Default)]
struct ListenerState {
    pending: VecDeque<MemTcpFlow>,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct UdpState {
    queue: VecDeque<(Vec<u8>, SocketAddr)>,
    waker: Option<Waker>,
    dropped: u64,
}

#[derive(Debug, Default)]
struct Net {
    listeners: BTreeMap<SocketAddr, Rc<RefCell<ListenerState>>>,
    udp: BTreeMap<SocketAddr, Rc<RefCell<UdpState>>>,
    next_port: BTreeMap<IpAddr, u16>,
}

impl Net {
    fn free_port(
        next_port: &mut BTreeMap<IpAddr, u16>,
        ip: IpAddr,
        used: impl Fn(u16) -> bool,
    ) -> Option<u16> {
        let mut p = *next_port.get(&ip).unwrap_or(&49152);
        for _ in 0..16384 {
            let cand = p;
            p = if p == 65535 { 49152 } else { p + 1 };
            if !used(cand) {
                next_port.insert(ip, p);
                return Some(cand);
            }
        }
        None
    }

    /// Takes `addr` in `sockets` (picking a free port for port 0) for a new
    /// socket of state `T`; the bind step both listeners and UDP share.
    fn claim<T: Default>(
        sockets: &mut BTreeMap<SocketAddr, Rc<RefCell<T>>>,
        next_port: &mut BTreeMap<IpAddr, u16>,
        mut addr: SocketAddr,
    ) -> Result<(SocketAddr, Rc<RefCell<T>>), StackError> {
        if addr.port() == 0 {
            let ip = addr.ip();
            let port = Net::free_port(next_port, ip, |p| {
                sockets.contains_key(&SocketAddr::new(ip, p))
            })
            .ok_or(StackError::NoBuffers)?;
            addr.set_port(port);
        }
        if sockets.contains_key(&addr) {
            return Err(StackError::AddrInUse(addr));
        }
        let state = Rc::new(RefCell::new(T::default()));
        sockets.insert(addr, state.clone());
        Ok((addr, state))
    }

    fn find<T>(map: &BTreeMap<SocketAddr, T>, to: SocketAddr) -> Option<&T> {
        map.get(&to).or_else(|| {
            let any = match to.ip() {
                IpAddr::V4(_) => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
            };
            map.get(&SocketAddr::new(any, to.port()))
        })
    }
}

/// An in-memory internet: every [`MemStack`] made from it can reach the
/// others by address. Clones share the network.
#[derive(Debug, Clone, Default)]
pub struct MemInternet {
    net: Rc<RefCell<Net>>,
}

impl MemInternet {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// A host with the given addresses (at least one; IPv4 and/or IPv6).
    pub fn host(&self, addresses: impl IntoIterator<Item = IpAddr>) -> MemStack {
        MemStack {
            net: self.net.clone(),
            addresses: Rc::new(addresses.into_iter().collect()),
        }
    }
}

/// A host on a [`MemInternet`]: implements [`Stack`].
#[derive(Debug, Clone)]
pub struct MemStack {
    net: Rc<RefCell<Net>>,
    addresses: Rc<Vec<IpAddr>>,
}

impl MemStack {
    /// The host's addresses.
    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    fn check_local(&self, addr: SocketAddr) -> Result<(), StackError> {
        if addr.ip().is_unspecified() {
            if self.addresses.iter().any(|a| a.is_ipv4() == addr.is_ipv4()) {
                return Ok(());
            }
            return Err(StackError::FamilyNotConfigured(if addr.is_ipv4() {
                "IPv4"
            } else {
                "IPv6"
            }));
        }
        if self.addresses.contains(&addr.ip()) {
            Ok(())
        } else {
            Err(StackError::AddrNotAvailable(addr))
        }
    }

    fn source_ip(&self, family_v4: bool) -> Result<IpAddr, StackError> {
        self.addresses
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == family_v4)
            .ok_or(StackError::FamilyNotConfigured(if family_v4 {
                "IPv4"
            } else {
                "IPv6"
            }))
    }
}

/// One end of an in-memory TCP connection.
#[derive(Debug)]
pub struct MemTcpFlow {
    rx: Rc<RefCell<Pipe>>,
    tx: Rc<RefCell<Pipe>>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Drop for MemTcpFlow {
    fn drop(&mut self) {
        let mut tx = self.tx.borrow_mut();
        tx.finished = true;
        tx.wake_reader();
        drop(tx);
        let mut rx = self.rx.borrow_mut();
        rx.reader_gone = true;
        rx.wake_writer();
    }
}

impl MemTcpFlow {
    /// Aborts the connection: the peer's next read or write fails with
    /// [`StackError::ConnectionReset`].
    pub fn reset(self) {
        for p in [&self.tx, &self.rx] {
            let mut p = p.borrow_mut();
            p.reset = true;
            p.wake_reader();
            p.wake_writer();
        }
    }
}

impl TcpFlow for MemTcpFlow {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StackError> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut p = self.rx.borrow_mut();
            if p.reset {
                return Poll::Ready(Err(StackError::ConnectionReset));
            }
            if !p.buf.is_empty() {
                let n = buf.len().min(p.buf.len());
                for (dst, src) in buf.iter_mut().zip(p.buf.drain(..n)) {
                    *dst = src;
                }
                p.wake_writer();
                return Poll::Ready(Ok(n));
            }
            if p.finished {
                return Poll::Ready(Ok(0));
            }
            p.reader = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut p = self.tx.borrow_mut();
            if p.reset || p.reader_gone {
                return Poll::Ready(Err(StackError::ConnectionReset));
            }
            if p.finished {
                return Poll::Ready(Err(StackError::Closed));
            }
            let room = PIPE_CAPACITY - p.buf.len();
            if room == 0 {
                p.writer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let n = room.min(buf.len());
            p.buf.extend(&buf[..n]);
            p.wake_reader();
            Poll::Ready(Ok(n))
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), StackError> {
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), StackError> {
        let mut p = self.tx.borrow_mut();
        p.finished = true;
        p.wake_reader();
        Ok(())
    }

    fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// A listening socket on a [`MemStack`].
#[derive(Debug)]
pub struct MemTcpListener {
    net: Rc<RefCell<Net>>,
    state: Rc<RefCell<ListenerState>>,
    local: SocketAddr,
}

impl Drop for MemTcpListener {
    fn drop(&mut self) {
        self.net.borrow_mut().listeners.remove(&self.local);
    }
}

impl TcpListener for MemTcpListener {
    type Flow = MemTcpFlow;

    async fn accept(&self) -> Result<MemTcpFlow, StackError> {
        poll_fn(|cx| {
            let mut s = self.state.borrow_mut();
            match s.pending.pop_front() {
                Some(f) => Poll::Ready(Ok(f)),
                None => {
                    s.waker = Some(cx.waker().clone());
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

/// A UDP socket on a [`MemStack`].
#[derive(Debug)]
pub struct MemUdpSocket {
    net: Rc<RefCell<Net>>,
    state: Rc<RefCell<UdpState>>,
    local: SocketAddr,
    source: SocketAddr,
}

impl MemUdpSocket {
    /// Datagrams dropped because this socket's queue was full.
    pub fn dropped(&self) -> u64 {
        self.state.borrow().dropped
    }
}

impl Drop for MemUdpSocket {
    fn drop(&mut self) {
        self.net.borrow_mut().udp.remove(&self.local);
    }
}

impl UdpSocket for MemUdpSocket {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> Result<(), StackError> {
        if buf.len() > UDP_MAX {
            return Err(StackError::MessageTooLong {
                len: buf.len(),
                max: UDP_MAX,
            });
        }
        if self.source.is_ipv4() != to.is_ipv4() {
            return Err(StackError::Unreachable(to));
        }
        let source = self.source;
        let net = self.net.borrow();
        if let Some(target) = Net::find(&net.udp, to) {
            let mut t = target.borrow_mut();
            if t.queue.len() >= UDP_QUEUE {
                t.dropped += 1;
            } else {
                t.queue.push_back((buf.to_vec(), source));
                if let Some(w) = t.waker.take() {
                    w.wake();
                }
            }
        }
        Ok(())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr), StackError> {
        poll_fn(|cx| {
            let mut s = self.state.borrow_mut();
            match s.queue.pop_front() {
                Some((data, from)) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    Poll::Ready(Ok((n, from)))
                }
                None => {
                    s.waker = Some(cx.waker().clone());
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

impl Stack for MemStack {
    type TcpFlow = MemTcpFlow;
    type TcpListener = MemTcpListener;
    type UdpSocket = MemUdpSocket;

    async fn tcp_listen(&self, addr: SocketAddr) -> Result<MemTcpListener, StackError> {
        self.check_local(addr)?;
        let net = &mut *self.net.borrow_mut();
        let (addr, state) = Net::claim(&mut net.listeners, &mut net.next_port, addr)?;
        Ok(MemTcpListener {
            net: self.net.clone(),
            state,
            local: addr,
        })
    }

    async fn tcp_connect(&self, to: SocketAddr) -> Result<MemTcpFlow, StackError> {
        let ip = self.source_ip(to.is_ipv4())?;
        let mut net = self.net.borrow_mut();
        let listener = Net::find(&net.listeners, to)
            .cloned()
            .ok_or(StackError::ConnectionRefused(to))?;
        let port =
            Net::free_port(&mut net.next_port, ip, |_| false).ok_or(StackError::NoBuffers)?;
        drop(net);
        let local = SocketAddr::new(ip, port);
        let a = Rc::new(RefCell::new(Pipe::default()));
        let b = Rc::new(RefCell::new(Pipe::default()));
        let server = MemTcpFlow {
            rx: a.clone(),
            tx: b.clone(),
            local: to,
            peer: local,
        };
        let mut l = listener.borrow_mut();
        if l.pending.len() >= BACKLOG {
            return Err(StackError::ConnectionRefused(to));
        }
        l.pending.push_back(server);
        if let Some(w) = l.waker.take() {
            w.wake();
        }
        Ok(MemTcpFlow {
            rx: b,
            tx: a,
            local,
            peer: to,
        })
    }

    async fn udp_bind(&self, addr: SocketAddr) -> Result<MemUdpSocket, StackError> {
        self.check_local(addr)?;
        let net = &mut *self.net.borrow_mut();
        let (addr, state) = Net::claim(&mut net.udp, &mut net.next_port, addr)?;
        let source = if addr.ip().is_unspecified() {
            SocketAddr::new(self.source_ip(addr.is_ipv4())?, addr.port())
        } else {
            addr
        };
        Ok(MemUdpSocket {
            net: self.net.clone(),
            state,
            local: addr,
            source,
        })
    }
}
