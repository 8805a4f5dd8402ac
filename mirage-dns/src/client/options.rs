//! What a [`StubResolver`](super::StubResolver) can be told: upstream
//! servers, timeouts, retries, EDNS payload size, chain and cache bounds.

use std::net::SocketAddr;
use std::time::Duration;

/// The resolver's configuration. [`Options::new`] takes the upstream
/// servers and fills in the rest with the defaults documented per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Upstream servers (recursive resolvers, or authoritative servers for
    /// the names asked), tried in order.
    pub servers: Vec<SocketAddr>,
    /// How long to wait for a UDP answer before asking again (default 2 s).
    pub timeout: Duration,
    /// UDP questions sent to each server before the next one is tried (default 2).
    pub attempts: u8,
    /// How long a whole TCP exchange may take, connection included (default 5 s).
    pub tcp_timeout: Duration,
    /// The EDNS(0) UDP payload size advertised, also the receive buffer
    /// size (default 1232, the DNS flag day 2020 figure); at least 512 is used.
    pub udp_payload_size: u16,
    /// Whether to set RD, asking the upstream to recurse (default true).
    pub recursion_desired: bool,
    /// The most CNAME records followed for one question (default 8).
    pub max_cname_chain: usize,
    /// The most answers kept in the cache; 0 turns caching off (default 256).
    pub cache_size: usize,
    /// The longest a positive answer is cached, in seconds (default 1 day).
    pub max_ttl: u32,
    /// The longest a negative answer is cached, in seconds (default 1 hour,
    /// the RFC 2308 §5 suggestion).
    pub max_negative_ttl: u32,
}

impl Options {
    /// The defaults, asking `servers` in order.
    pub fn new(servers: impl IntoIterator<Item = SocketAddr>) -> Options {
        Options {
            servers: servers.into_iter().collect(),
            ..Options::default()
        }
    }
}

impl Default for Options {
    /// The defaults with no server: every lookup fails with
    /// [`ResolveError::NoServers`](super::ResolveError::NoServers) until one is added.
    fn default() -> Options {
        Options {
            servers: Vec::new(),
            timeout: Duration::from_secs(2),
            attempts: 2,
            tcp_timeout: Duration::from_secs(5),
            udp_payload_size: 1232,
            recursion_desired: true,
            max_cname_chain: 8,
            cache_size: 256,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
        }
    }
}
