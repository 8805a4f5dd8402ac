//! [`Counters`]: what the stack has done, for monitoring and tests.

use mirage_core::NetworkCounters;

/// Running totals kept by the stack, read with [`crate::Stack::counters`].
///
/// Frame counts are taken at the boundary between the device and smoltcp:
/// `frames_rx` counts every frame smoltcp was handed (including ones it then
/// ignored: foreign EtherTypes, packets for other hosts, bad checksums), and
/// `frames_tx` every frame smoltcp wrote. smoltcp keeps no per-segment
/// statistics, so TCP retransmissions are *not* counted; `device` holds the
/// device's own totals, including the frames it dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Counters {
    /// Frames taken from the device and handed to smoltcp.
    pub frames_rx: u64,
    /// Bytes in those frames.
    pub bytes_rx: u64,
    /// Frames smoltcp wrote to the device.
    pub frames_tx: u64,
    /// Bytes in those frames.
    pub bytes_tx: u64,
    /// Frames the stack sent to itself and received back (connections to
    /// its own addresses); also counted in `frames_rx` and `frames_tx`.
    pub frames_looped: u64,
    /// Looped-back frames dropped because the loopback queue was full.
    pub loopback_dropped: u64,
    /// Times smoltcp wanted to send but the device had no transmit room.
    pub tx_full: u64,
    /// The device's own counters as of the last poll (its drops included).
    pub device: NetworkCounters,
    /// Times the runner polled the interface.
    pub polls: u64,
    /// TCP connections handed out by `accept`.
    pub tcp_accepted: u64,
    /// TCP connections we opened that reached ESTABLISHED.
    pub tcp_connected: u64,
    /// TCP connects that failed (refused, timed out, unreachable).
    pub tcp_connect_failed: u64,
    /// Times a listener reached its backlog (ran out of LISTEN sockets).
    pub tcp_backlog_full: u64,
    /// SYNs dropped because their listener was at its backlog (the client
    /// retransmits them).
    pub tcp_syn_dropped: u64,
    /// Connections aborted because they outlived [`crate::TcpOptions::linger`]
    /// after being closed.
    pub tcp_linger_aborts: u64,
    /// TCP sockets freed after closing.
    pub tcp_sockets_freed: u64,
    /// Sockets of every kind currently held (TCP, UDP, DHCP).
    pub sockets_open: u64,
    /// UDP datagrams sent.
    pub udp_tx: u64,
    /// UDP datagrams received by the application.
    pub udp_rx: u64,
    /// DHCPv4 leases obtained or renewed with a change.
    pub dhcp_configured: u64,
    /// DHCPv4 leases lost.
    pub dhcp_deconfigured: u64,
}
