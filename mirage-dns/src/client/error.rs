//! Why a lookup failed: [`ResolveError`], and why an answer was refused: [`Mismatch`].

use std::net::SocketAddr;

use mirage_core::StackError;

use crate::wire::{Name, NameError, Rcode, Type, WireError};

/// Returned by [`StubResolver::lookup`](super::StubResolver::lookup) and
/// [`StubResolver::lookup_ip`](super::StubResolver::lookup_ip).
///
/// When every server failed, the error is that of the last server tried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The options name no upstream server.
    #[error("no upstream DNS server is configured")]
    NoServers,
    /// The name asked for is not a valid domain name (too long, a label too
    /// long, an empty label, a bad escape).
    #[error("invalid domain name: {0}")]
    InvalidName(#[from] NameError),
    /// No acceptable answer arrived in time from any server.
    #[error("no answer from {server} after {attempts} attempts")]
    Timeout {
        /// The last server asked.
        server: SocketAddr,
        /// UDP questions sent to it.
        attempts: u8,
    },
    /// The server answered with an error code (SERVFAIL, REFUSED, NOTIMP,
    /// FORMERR, ...).
    #[error("{server} answered {rcode}")]
    ServerFailure {
        /// The server.
        server: SocketAddr,
        /// Its response code.
        rcode: Rcode,
    },
    /// Only malformed answers came back from the server (right address and
    /// ID, but bytes that do not parse as a DNS message).
    #[error("malformed answer from {server}: {source}")]
    Malformed {
        /// The server.
        server: SocketAddr,
        /// What was wrong with it.
        source: WireError,
    },
    /// Only answers that do not belong to the question came back (wrong
    /// source, ID or question); they were ignored, as spoofed answers are.
    #[error("no matching answer from {server}; ignored an answer with {reason}")]
    Mismatched {
        /// The server asked.
        server: SocketAddr,
        /// Why the last ignored answer did not match.
        reason: Mismatch,
    },
    /// The transport failed: no socket, connection refused, reset.
    #[error("transport to {server} failed: {source}")]
    Transport {
        /// The server.
        server: SocketAddr,
        /// The stack's error.
        source: StackError,
    },
    /// The TCP answer's length prefix announced more bytes than came.
    #[error("TCP connection to {server} closed before the whole answer arrived")]
    TcpShort {
        /// The server.
        server: SocketAddr,
    },
    /// The CNAME chain in the answer leads back to a name already visited.
    #[error("CNAME loop at {name}")]
    CnameLoop {
        /// The name seen twice.
        name: Name,
    },
    /// The CNAME chain in the answer is longer than the configured bound.
    #[error("CNAME chain longer than {limit} records")]
    ChainTooLong {
        /// [`Options::max_cname_chain`](super::Options::max_cname_chain).
        limit: usize,
    },
    /// The name does not exist (NXDOMAIN), from [`StubResolver::lookup_ip`](super::StubResolver::lookup_ip).
    #[error("{name} does not exist")]
    NxDomain {
        /// The name.
        name: Name,
    },
    /// The name exists but has none of the types asked for (NODATA), from
    /// [`StubResolver::lookup_ip`](super::StubResolver::lookup_ip).
    #[error("{name} has no {rtype} records")]
    NoData {
        /// The name.
        name: Name,
        /// The (last) type asked for.
        rtype: Type,
    },
}

/// Why a datagram or TCP message was not accepted as the answer to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    /// It came from another address or port than the server asked.
    #[error("a source address other than the server's")]
    Source,
    /// It is shorter than a DNS header.
    #[error("fewer bytes than a DNS header")]
    Short,
    /// Its ID is not that of the question.
    #[error("another message ID")]
    Id,
    /// It is a query, not a response, or not of opcode QUERY.
    #[error("no QR bit or another opcode")]
    NotResponse,
    /// Its question section is not the one asked (name compared without case).
    #[error("another question")]
    Question,
}
