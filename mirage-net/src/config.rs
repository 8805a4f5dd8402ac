//! [`Config`]: how a [`crate::Stack`] gets its addresses and sizes its sockets.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use mirage_core::MacAddress;

/// Everything [`crate::Stack::new`] needs to know besides the devices.
///
/// `Config::default()` is a DHCPv4 client with an IPv6 link-local address
/// and the TCP/UDP defaults below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How the IPv4 address is obtained.
    pub ipv4: Ipv4Config,
    /// Which IPv6 addresses the stack has.
    pub ipv6: Ipv6Config,
    /// TCP socket sizes and timers.
    pub tcp: TcpOptions,
    /// UDP socket sizes.
    pub udp: UdpOptions,
    /// A MAC address to use instead of the device's own.
    pub mac: Option<MacAddress>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ipv4: Ipv4Config::Dhcp,
            ipv6: Ipv6Config::LinkLocal,
            tcp: TcpOptions::default(),
            udp: UdpOptions::default(),
            mac: None,
        }
    }
}

impl Config {
    /// A stack with a fixed IPv4 address and an IPv6 link-local address.
    pub fn ipv4_static(address: Ipv4Addr, prefix_len: u8, gateway: Option<Ipv4Addr>) -> Self {
        Config {
            ipv4: Ipv4Config::Static(StaticIpv4 {
                address,
                prefix_len,
                gateway,
            }),
            ..Config::default()
        }
    }

    /// Replaces the IPv6 configuration.
    pub fn with_ipv6(mut self, ipv6: Ipv6Config) -> Self {
        self.ipv6 = ipv6;
        self
    }

    /// Replaces the TCP options.
    pub fn with_tcp(mut self, tcp: TcpOptions) -> Self {
        self.tcp = tcp;
        self
    }

    /// Replaces the UDP options.
    pub fn with_udp(mut self, udp: UdpOptions) -> Self {
        self.udp = udp;
        self
    }
}

/// How the stack gets its IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Config {
    /// No IPv4 at all.
    None,
    /// A fixed address.
    Static(StaticIpv4),
    /// Ask a DHCPv4 server (RFC 2131); until a lease arrives the stack has
    /// no IPv4 address. See [`crate::Stack::wait_ipv4`].
    Dhcp,
}

/// A fixed IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticIpv4 {
    /// The interface address.
    pub address: Ipv4Addr,
    /// The subnet's prefix length, `0..=32`.
    pub prefix_len: u8,
    /// The default router, if any (must be inside the subnet).
    pub gateway: Option<Ipv4Addr>,
}

/// Which IPv6 addresses the stack has. There is no SLAAC: a global address
/// is configured by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6Config {
    /// No IPv6 at all.
    None,
    /// Only the link-local address `fe80::/64` derived from the MAC (EUI-64).
    LinkLocal,
    /// A fixed address, plus the link-local one.
    Static(StaticIpv6),
}

/// A fixed IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticIpv6 {
    /// The interface address.
    pub address: Ipv6Addr,
    /// The subnet's prefix length, `0..=128`.
    pub prefix_len: u8,
    /// The default router, if any.
    pub gateway: Option<Ipv6Addr>,
}

/// Congestion control for new TCP sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CongestionControl {
    /// None: send as much as the peer's window allows (for tests only).
    None,
    /// TCP Reno (RFC 5681).
    Reno,
    /// CUBIC (RFC 8312); needs floating-point maths from `std`.
    #[cfg(feature = "std")]
    Cubic,
}

/// TCP socket sizes and timers.
///
/// The window scale option is derived from `rx_buffer`: a buffer above
/// 64 KiB is advertised in full through window scaling (RFC 7323).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpOptions {
    /// Receive buffer per connection in bytes (the largest window we advertise).
    pub rx_buffer: usize,
    /// Send buffer per connection in bytes (the most unacknowledged data).
    pub tx_buffer: usize,
    /// Nagle's algorithm (RFC 896). Off by default: protocols here write
    /// whole messages, and delayed small segments only add latency.
    pub nagle: bool,
    /// Congestion control.
    pub congestion: CongestionControl,
    /// Send a keep-alive probe after this long without traffic, so a dead
    /// peer is noticed; `None` disables keep-alives.
    pub keep_alive: Option<Duration>,
    /// Abort a connection that hears nothing from its peer for this long
    /// (with keep-alives on, a live peer always answers in time); `None`
    /// waits forever. It also bounds how long a connect may take.
    pub timeout: Option<Duration>,
    /// How long a dropped or closed connection may linger to finish its
    /// close handshake before it is aborted and its buffers freed.
    pub linger: Duration,
    /// Sockets kept in LISTEN state per listener, ready for incoming SYNs
    /// (refilled as connections arrive).
    pub listen_sockets: usize,
    /// The most connections a listener holds that are being set up or wait
    /// for `accept`; further SYNs are refused until `accept` catches up.
    pub backlog: usize,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            rx_buffer: 64 * 1024,
            tx_buffer: 64 * 1024,
            nagle: false,
            congestion: CongestionControl::Reno,
            keep_alive: Some(Duration::from_secs(75)),
            timeout: Some(Duration::from_secs(300)),
            linger: Duration::from_secs(60),
            listen_sockets: 8,
            backlog: 128,
        }
    }
}

/// UDP socket sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpOptions {
    /// Datagrams queued per socket in each direction.
    pub packets: usize,
    /// Payload bytes queued per socket in each direction.
    pub buffer: usize,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            packets: 32,
            buffer: 64 * 1024,
        }
    }
}

/// Why [`crate::Stack::new`] rejected a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MAC address is a group (multicast or broadcast) address.
    #[error("MAC address {0} is not a unicast address")]
    MulticastMac(MacAddress),
    /// A prefix length is longer than the address.
    #[error("prefix length /{prefix_len} is too long for {family}")]
    PrefixTooLong {
        /// "IPv4" or "IPv6".
        family: &'static str,
        /// The rejected prefix length.
        prefix_len: u8,
    },
    /// The interface address is unspecified, multicast or broadcast.
    #[error("{0} cannot be an interface address")]
    BadAddress(core::net::IpAddr),
    /// The device's MTU is too small for IPv4 (576) or IPv6 (1280).
    #[error("the device MTU of {mtu} bytes is below the minimum of {min} for {family}")]
    MtuTooSmall {
        /// The device's MTU.
        mtu: usize,
        /// The minimum for the family.
        min: usize,
        /// "IPv4" or "IPv6".
        family: &'static str,
    },
    /// A buffer size is zero or a count is zero where one is needed.
    #[error("{0} must be at least 1")]
    ZeroSize(&'static str),
}
