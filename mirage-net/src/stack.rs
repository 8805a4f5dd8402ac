//! [`Stack`]: the cheap, cloneable handle applications use.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::task::{Context, Poll, Waker};

use mirage_core::{Instant, MacAddress, Network, Random, StackError, Time};
use smoltcp::iface::{self, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr, Ipv6Cidr};

use crate::config::{
    ConfigError, Ipv4Config, Ipv6Config, StaticIpv4, StaticIpv6, TcpOptions, UdpOptions,
};
use crate::counters::Counters;
use crate::device::{Adapter, FrameCounts, to_smol};
use crate::runner::Runner;
use crate::tcp::ListenerState;
use crate::{Config, TcpFlow, TcpListener, UdpSocket};

/// The IPv4 configuration in force: static, or the current DHCP lease.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Ipv4Info {
    /// The interface address.
    pub address: Ipv4Addr,
    /// The subnet's prefix length.
    pub prefix_len: u8,
    /// The default router, if any.
    pub gateway: Option<Ipv4Addr>,
    /// DNS servers offered by DHCP (empty for a static configuration).
    pub dns_servers: Vec<Ipv4Addr>,
}

/// A TCP/IP stack over one Ethernet device: a handle on shared state.
///
/// Cloning is cheap (a reference count); every clone is the same stack. It
/// does nothing by itself: the [`Runner`] returned beside it moves frames
/// and timers, and must be polled (spawned, or joined with the application's
/// future) for any socket to make progress. Single-threaded: neither the
/// handle nor its sockets are `Send`.
#[derive(Clone)]
pub struct Stack {
    pub(crate) inner: Rc<RefCell<Inner>>,
}

impl core::fmt::Debug for Stack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let i = self.inner.borrow();
        f.debug_struct("Stack")
            .field("mac", &i.mac)
            .field("addresses", &i.iface.ip_addrs())
            .finish_non_exhaustive()
    }
}

/// The shared state behind every [`Stack`] clone and the [`Runner`].
pub(crate) struct Inner {
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    pub(crate) tcp_opts: TcpOptions,
    pub(crate) udp_opts: UdpOptions,
    pub(crate) mac: MacAddress,
    pub(crate) mtu: usize,
    /// The time of the runner's latest poll.
    pub(crate) now: Instant,
    runner_waker: Option<Waker>,
    pub(crate) listeners: BTreeMap<u64, ListenerState>,
    next_listener: u64,
    /// Closed or dropped TCP sockets finishing their close handshake, with
    /// the instant after which they are aborted.
    pub(crate) orphans: Vec<(SocketHandle, Instant)>,
    /// UDP local endpoints in use (`None` address: every address).
    pub(crate) udp_bound: BTreeSet<(Option<IpAddr>, u16)>,
    /// Tasks waiting to receive on a UDP socket (smoltcp keeps only one
    /// waker per socket; several tasks may share a socket).
    pub(crate) udp_recv_waiters: BTreeMap<SocketHandle, Vec<Waker>>,
    /// Tasks waiting for send room on a UDP socket.
    pub(crate) udp_send_waiters: BTreeMap<SocketHandle, Vec<Waker>>,
    /// Dropped UDP sockets still sending their queued datagrams, with their
    /// endpoint and the instant after which they are discarded anyway.
    pub(crate) udp_orphans: Vec<(SocketHandle, (Option<IpAddr>, u16), Instant)>,
    /// Where ephemeral ports come from (RFC 6056): each is drawn at random.
    random: Box<dyn Random>,
    pub(crate) dhcp: Option<SocketHandle>,
    pub(crate) ipv4: Option<Ipv4Info>,
    pub(crate) ipv6_enabled: bool,
    config_wakers: Vec<Waker>,
    pub(crate) counters: Counters,
    pub(crate) link_up: bool,
    /// When the runner last asked the device for its link state.
    pub(crate) link_checked: Option<Instant>,
    /// TCP sockets smoltcp closed because the peer stopped answering
    /// (retransmission or keep-alive timeout), so errors can say so.
    pub(crate) timed_out: BTreeSet<SocketHandle>,
    /// Ports of listeners with no LISTEN socket left (their SYNs are
    /// dropped until `accept` makes room).
    pub(crate) full_ports: Vec<u16>,
    /// Scratch list of open TCP sockets, reused by every poll.
    pub(crate) open_scratch: Vec<SocketHandle>,
    /// TCP sockets whose peer has sent FIN: once closed, reads on them end
    /// with EOF rather than an error.
    pub(crate) fin_received: BTreeSet<SocketHandle>,
}

impl Inner {
    /// Asks the runner to poll soon: a socket has something new to send or
    /// more room to receive.
    pub(crate) fn wake_runner(&mut self) {
        if let Some(w) = &self.runner_waker {
            w.wake_by_ref();
        }
    }

    pub(crate) fn register_runner(&mut self, waker: &Waker) {
        match &self.runner_waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.runner_waker = Some(waker.clone()),
        }
    }

    pub(crate) fn wake_config_waiters(&mut self) {
        for w in self.config_wakers.drain(..) {
            w.wake();
        }
    }

    pub(crate) fn add_listener(&mut self, state: ListenerState) -> u64 {
        let id = self.next_listener;
        self.next_listener += 1;
        self.listeners.insert(id, state);
        id
    }

    /// A free ephemeral port (RFC 6335 range 49152–65535) for TCP or UDP,
    /// drawn at random (RFC 6056's "simple port randomization": a random
    /// start, then the next free one), so an off-path attacker cannot guess
    /// the port of a DNS question or a connection from the previous one.
    pub(crate) fn ephemeral_port(&mut self, tcp: bool) -> Result<u16, StackError> {
        const FIRST: u16 = 49152;
        const COUNT: u16 = 16384;
        let start = (self.random.next_u32() % u32::from(COUNT)) as u16;
        for i in 0..COUNT {
            let port = FIRST + (start + i) % COUNT;
            let used = if tcp {
                self.tcp_port_in_use(port)
            } else {
                self.udp_bound.iter().any(|&(_, p)| p == port)
            };
            if !used {
                return Ok(port);
            }
        }
        Err(StackError::NoBuffers)
    }

    /// Whether a TCP socket uses `port` locally (listening or connected).
    pub(crate) fn tcp_port_in_use(&self, port: u16) -> bool {
        self.sockets.iter().any(|(_, s)| match s {
            smoltcp::socket::Socket::Tcp(t) => {
                t.listen_endpoint().port == port
                    || t.local_endpoint().is_some_and(|e| e.port == port)
            }
            _ => false,
        })
    }

    /// Checks that `addr` may be bound locally: unspecified, or one of ours.
    pub(crate) fn check_local(&self, addr: SocketAddr) -> Result<Option<IpAddr>, StackError> {
        let ip = addr.ip();
        if ip.is_unspecified() {
            return Ok(None);
        }
        if self.iface.has_ip_addr(ip) {
            Ok(Some(ip))
        } else {
            Err(StackError::AddrNotAvailable(addr))
        }
    }

    /// Checks that the stack can reach an address of `ip`'s family.
    pub(crate) fn check_family(&self, ip: IpAddr) -> Result<(), StackError> {
        match ip {
            IpAddr::V4(_) if self.iface.ipv4_addr().is_none() => {
                Err(StackError::FamilyNotConfigured("IPv4"))
            }
            IpAddr::V6(_) if !self.ipv6_enabled => Err(StackError::FamilyNotConfigured("IPv6")),
            _ => Ok(()),
        }
    }

    /// A new TCP socket with the configured buffers, timers and options.
    pub(crate) fn new_tcp_socket(&self) -> tcp::Socket<'static> {
        let o = &self.tcp_opts;
        let rx = tcp::SocketBuffer::new(alloc::vec![0u8; o.rx_buffer]);
        let tx = tcp::SocketBuffer::new(alloc::vec![0u8; o.tx_buffer]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_nagle_enabled(o.nagle);
        s.set_keep_alive(o.keep_alive.map(crate::device::duration_to_smol));
        s.set_timeout(o.timeout.map(crate::device::duration_to_smol));
        s.set_congestion_control(match o.congestion {
            crate::config::CongestionControl::None => tcp::CongestionControl::None,
            crate::config::CongestionControl::Reno => tcp::CongestionControl::Reno,
            #[cfg(feature = "std")]
            crate::config::CongestionControl::Cubic => tcp::CongestionControl::Cubic,
        });
        s
    }

    /// Hands a TCP socket nobody holds any more to the runner, which frees
    /// it once closed, or aborts it after the linger time.
    pub(crate) fn orphan_tcp(&mut self, handle: SocketHandle) {
        let deadline = self.now + self.tcp_opts.linger;
        self.orphans.push((handle, deadline));
        self.wake_runner();
    }

    /// Frees orphaned sockets that have closed, aborts those that lingered
    /// too long.
    pub(crate) fn reap_orphans(&mut self) {
        let now = self.now;
        let Inner {
            orphans,
            sockets,
            counters,
            timed_out,
            fin_received,
            ..
        } = self;
        orphans.retain(|&(h, deadline)| {
            let s = sockets.get_mut::<tcp::Socket<'static>>(h);
            if s.state() == tcp::State::Closed && s.remote_endpoint().is_none() {
                sockets.remove(h);
                timed_out.remove(&h);
                fin_received.remove(&h);
                counters.tcp_sockets_freed += 1;
                return false;
            }
            if now >= deadline && s.state() != tcp::State::Closed {
                s.abort();
                counters.tcp_linger_aborts += 1;
            }
            true
        });
    }

    /// Notes, between ingress and egress, which TCP sockets are open and
    /// which have heard their peer's FIN. smoltcp closes an open socket
    /// during egress only when its timeout expires (a received RST closes
    /// it during ingress, `abort` outside any poll), and ends TIME-WAIT
    /// there too.
    pub(crate) fn note_open_tcp(&mut self) {
        let Inner {
            sockets,
            open_scratch,
            fin_received,
            ..
        } = self;
        open_scratch.clear();
        for (h, s) in sockets.iter() {
            let smoltcp::socket::Socket::Tcp(t) = s else {
                continue;
            };
            match t.state() {
                tcp::State::Closed | tcp::State::Listen => {}
                tcp::State::CloseWait
                | tcp::State::LastAck
                | tcp::State::Closing
                | tcp::State::TimeWait => {
                    fin_received.insert(h);
                }
                _ => open_scratch.push(h),
            }
        }
    }

    /// Records the sockets noted open before egress that egress closed.
    pub(crate) fn note_timeouts(&mut self) {
        let Inner {
            sockets,
            open_scratch,
            timed_out,
            ..
        } = self;
        for &h in open_scratch.iter() {
            if sockets.get::<tcp::Socket<'static>>(h).state() == tcp::State::Closed {
                timed_out.insert(h);
            }
        }
    }

    /// Frees dropped UDP sockets whose queue has drained (or that waited
    /// too long, e.g. for a neighbour that never answers).
    pub(crate) fn reap_udp_orphans(&mut self, force_port: Option<u16>) {
        let now = self.now;
        let Inner {
            udp_orphans,
            sockets,
            udp_bound,
            ..
        } = self;
        udp_orphans.retain(|&(h, key, deadline)| {
            let s = sockets.get::<smoltcp::socket::udp::Socket<'static>>(h);
            if s.send_queue() == 0 || now >= deadline || force_port == Some(key.1) {
                sockets.remove(h);
                udp_bound.remove(&key);
                return false;
            }
            true
        });
    }

    /// Wakes the tasks waiting on UDP sockets that can now receive or send.
    pub(crate) fn wake_udp(&mut self) {
        type Udp = smoltcp::socket::udp::Socket<'static>;
        let sockets = &self.sockets;
        self.udp_recv_waiters.retain(|&h, waiters| {
            if sockets.get::<Udp>(h).can_recv() {
                waiters.drain(..).for_each(Waker::wake);
            }
            !waiters.is_empty()
        });
        self.udp_send_waiters.retain(|&h, waiters| {
            if sockets.get::<Udp>(h).can_send() {
                waiters.drain(..).for_each(Waker::wake);
            }
            !waiters.is_empty()
        });
    }

    /// The earliest instant a lingering socket must be looked at again.
    pub(crate) fn next_linger(&self) -> Option<Instant> {
        let tcp = self.orphans.iter().map(|o| o.1);
        let udp = self.udp_orphans.iter().map(|o| o.2);
        tcp.chain(udp).filter(|&t| t > self.now).min()
    }

    pub(crate) fn sync_counters(&mut self, f: &FrameCounts) {
        let c = &mut self.counters;
        c.frames_rx = f.frames_rx.get();
        c.bytes_rx = f.bytes_rx.get();
        c.frames_tx = f.frames_tx.get();
        c.bytes_tx = f.bytes_tx.get();
        c.tx_full = f.tx_full.get();
    }

    /// Applies a DHCP event to the interface.
    pub(crate) fn poll_dhcp(&mut self) -> bool {
        let Some(h) = self.dhcp else { return false };
        let event = match self.sockets.get_mut::<dhcpv4::Socket<'static>>(h).poll() {
            None => return false,
            Some(dhcpv4::Event::Configured(c)) => Some(Ipv4Info {
                address: c.address.address(),
                prefix_len: c.address.prefix_len(),
                gateway: c.router,
                dns_servers: c.dns_servers.iter().copied().collect(),
            }),
            Some(dhcpv4::Event::Deconfigured) => None,
        };
        match event {
            Some(info) => {
                self.counters.dhcp_configured += 1;
                set_ipv4(&mut self.iface, Some(&info));
                self.ipv4 = Some(info);
            }
            None => {
                self.counters.dhcp_deconfigured += 1;
                set_ipv4(&mut self.iface, None);
                self.ipv4 = None;
            }
        }
        self.wake_config_waiters();
        true
    }
}

/// Replaces the interface's IPv4 address and default route.
fn set_ipv4(iface: &mut Interface, info: Option<&Ipv4Info>) {
    iface.update_ip_addrs(|addrs| {
        addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
        if let Some(i) = info {
            // Capacity is reserved for one IPv4 address, so this cannot fail.
            let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(i.address, i.prefix_len)));
        }
    });
    iface.routes_mut().remove_default_ipv4_route();
    if let Some(gw) = info.and_then(|i| i.gateway) {
        // At most one default route per family: room is always there.
        let _ = iface.routes_mut().add_default_ipv4_route(gw);
    }
}

/// The EUI-64 link-local address for `mac` (RFC 4291 appendix A).
pub(crate) fn link_local(mac: MacAddress) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

fn check_v4(s: &StaticIpv4) -> Result<(), ConfigError> {
    if s.prefix_len > 32 {
        return Err(ConfigError::PrefixTooLong {
            family: "IPv4",
            prefix_len: s.prefix_len,
        });
    }
    let a = s.address;
    if a.is_unspecified() || a.is_multicast() || a.is_broadcast() {
        return Err(ConfigError::BadAddress(IpAddr::V4(a)));
    }
    Ok(())
}

fn check_v6(s: &StaticIpv6) -> Result<(), ConfigError> {
    if s.prefix_len > 128 {
        return Err(ConfigError::PrefixTooLong {
            family: "IPv6",
            prefix_len: s.prefix_len,
        });
    }
    let a = s.address;
    if a.is_unspecified() || a.is_multicast() {
        return Err(ConfigError::BadAddress(IpAddr::V6(a)));
    }
    Ok(())
}

impl Stack {
    /// Builds a stack over `device`, timed by `time`, with its TCP initial
    /// sequence numbers and ephemeral ports seeded from `random`.
    ///
    /// Returns the handle and the [`Runner`]; nothing moves until the runner
    /// is polled. The MTU comes from the device's capabilities.
    pub fn new<N: Network, T: Time, R: Random + 'static>(
        mut device: N,
        time: T,
        random: R,
        config: Config,
    ) -> Result<(Stack, Runner<N, T>), ConfigError> {
        let mac = config.mac.unwrap_or_else(|| device.mac_address());
        if mac.is_multicast() {
            return Err(ConfigError::MulticastMac(mac));
        }
        let mtu = device.capabilities().mtu;
        let needs_v4 = !matches!(config.ipv4, Ipv4Config::None);
        let needs_v6 = !matches!(config.ipv6, Ipv6Config::None);
        if needs_v4 && mtu < 576 {
            return Err(ConfigError::MtuTooSmall {
                mtu,
                min: 576,
                family: "IPv4",
            });
        }
        if needs_v6 && mtu < 1280 {
            return Err(ConfigError::MtuTooSmall {
                mtu,
                min: 1280,
                family: "IPv6",
            });
        }
        let t = &config.tcp;
        for (v, what) in [
            (t.rx_buffer, "the TCP receive buffer"),
            (t.tx_buffer, "the TCP send buffer"),
            (t.listen_sockets, "the number of listening sockets"),
            (t.backlog, "the TCP backlog"),
            (config.udp.packets, "the UDP packet queue"),
            (config.udp.buffer, "the UDP buffer"),
        ] {
            if v == 0 {
                return Err(ConfigError::ZeroSize(what));
            }
        }
        if let Ipv4Config::Static(s) = &config.ipv4 {
            check_v4(s)?;
        }
        if let Ipv6Config::Static(s) = &config.ipv6 {
            check_v6(s)?;
        }

        let mut ic = iface::Config::new(HardwareAddress::Ethernet(EthernetAddress(mac.0)));
        ic.random_seed = random.next_u64();
        ic.slaac = false;
        let now = time.now();
        let frames = FrameCounts::default();
        let mut cx = Context::from_waker(Waker::noop());
        let lo = crate::loopback::Loopback::new(mac.0);
        let gate = crate::device::SynGate::default();
        let mut adapter = Adapter {
            cx: &mut cx,
            net: &mut device,
            counts: &frames,
            lo: &lo,
            gate: &gate,
            tx_full: false,
            received: 0,
        };
        let mut iface = Interface::new(ic, &mut adapter, to_smol(now));

        let mut ipv4 = None;
        if let Ipv4Config::Static(s) = &config.ipv4 {
            let info = Ipv4Info {
                address: s.address,
                prefix_len: s.prefix_len,
                gateway: s.gateway,
                dns_servers: Vec::new(),
            };
            set_ipv4(&mut iface, Some(&info));
            ipv4 = Some(info);
        }
        if needs_v6 {
            let ll = link_local(mac);
            iface.update_ip_addrs(|addrs| {
                let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(ll, 64)));
                if let Ipv6Config::Static(s) = &config.ipv6 {
                    let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(s.address, s.prefix_len)));
                }
            });
            if let Ipv6Config::Static(StaticIpv6 {
                gateway: Some(gw), ..
            }) = &config.ipv6
            {
                let _ = iface.routes_mut().add_default_ipv6_route(*gw);
            }
        }

        let mut sockets = SocketSet::new(Vec::new());
        let dhcp = match config.ipv4 {
            Ipv4Config::Dhcp => Some(sockets.add(dhcpv4::Socket::new())),
            _ => None,
        };

        let inner = Inner {
            iface,
            sockets,
            tcp_opts: config.tcp,
            udp_opts: config.udp,
            mac,
            mtu,
            now,
            runner_waker: None,
            listeners: BTreeMap::new(),
            next_listener: 0,
            orphans: Vec::new(),
            udp_bound: BTreeSet::new(),
            udp_orphans: Vec::new(),
            udp_recv_waiters: BTreeMap::new(),
            udp_send_waiters: BTreeMap::new(),
            random: Box::new(random),
            dhcp,
            ipv4,
            ipv6_enabled: needs_v6,
            config_wakers: Vec::new(),
            counters: Counters::default(),
            link_up: true,
            link_checked: None,
            timed_out: BTreeSet::new(),
            open_scratch: Vec::new(),
            full_ports: Vec::new(),
            fin_received: BTreeSet::new(),
        };
        let stack = Stack {
            inner: Rc::new(RefCell::new(inner)),
        };
        let runner = Runner::new(device, time, stack.clone());
        Ok((stack, runner))
    }

    /// Running totals: frames, connections, sockets (see [`Counters`]).
    pub fn counters(&self) -> Counters {
        let mut i = self.inner.borrow_mut();
        i.counters.sockets_open = i.sockets.iter().count() as u64;
        i.counters
    }

    /// The MAC address the stack uses.
    pub fn mac_address(&self) -> MacAddress {
        self.inner.borrow().mac
    }

    /// The IP MTU of the device.
    pub fn mtu(&self) -> usize {
        self.inner.borrow().mtu
    }

    /// Whether the device reported its link up when last asked (the runner
    /// asks at most once a second, on a poll).
    pub fn is_link_up(&self) -> bool {
        self.inner.borrow().link_up
    }

    /// The IPv4 configuration in force, if any (DHCP may not have one yet).
    pub fn ipv4(&self) -> Option<Ipv4Info> {
        self.inner.borrow().ipv4.clone()
    }

    /// The IPv6 addresses with their prefix lengths, link-local first.
    pub fn ipv6_addresses(&self) -> Vec<(Ipv6Addr, u8)> {
        self.inner
            .borrow()
            .iface
            .ip_addrs()
            .iter()
            .filter_map(|c| match c {
                IpCidr::Ipv6(c) => Some((c.address(), c.prefix_len())),
                _ => None,
            })
            .collect()
    }

    /// Waits until the stack has an IPv4 address (at once for a static
    /// configuration; when the first lease arrives for DHCP).
    pub async fn wait_ipv4(&self) -> Ipv4Info {
        poll_fn(|cx| {
            let mut i = self.inner.borrow_mut();
            match &i.ipv4 {
                Some(info) => Poll::Ready(info.clone()),
                None => {
                    if !i.config_wakers.iter().any(|w| w.will_wake(cx.waker())) {
                        i.config_wakers.push(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// How many sockets (TCP, UDP, DHCP) the stack holds right now,
    /// including closed connections still finishing their handshake.
    pub fn socket_count(&self) -> usize {
        self.inner.borrow().sockets.iter().count()
    }
}

impl mirage_core::Stack for Stack {
    type TcpFlow = TcpFlow;
    type TcpListener = TcpListener;
    type UdpSocket = UdpSocket;

    async fn tcp_listen(&self, addr: SocketAddr) -> Result<TcpListener, StackError> {
        TcpListener::bind(self, addr)
    }

    async fn tcp_connect(&self, addr: SocketAddr) -> Result<TcpFlow, StackError> {
        TcpFlow::connect(self, addr).await
    }

    async fn udp_bind(&self, addr: SocketAddr) -> Result<UdpSocket, StackError> {
        UdpSocket::bind(self, addr)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn link_local_is_eui64_with_the_local_bit_flipped() {
        let mac = MacAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(
            link_local(mac),
            "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn static_addresses_are_checked() {
        let ok = StaticIpv4 {
            address: Ipv4Addr::new(192, 0, 2, 1),
            prefix_len: 24,
            gateway: None,
        };
        assert!(check_v4(&ok).is_ok());
        let bcast = StaticIpv4 {
            address: Ipv4Addr::BROADCAST,
            ..ok
        };
        assert!(matches!(check_v4(&bcast), Err(ConfigError::BadAddress(_))));
        let v6 = StaticIpv6 {
            address: "ff02::1".parse().unwrap(),
            prefix_len: 129,
            gateway: None,
        };
        assert!(matches!(
            check_v6(&v6),
            Err(ConfigError::PrefixTooLong {
                prefix_len: 129,
                ..
            })
        ));
    }
}
