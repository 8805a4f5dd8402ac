//! Error values: one enum per layer, gathered in [`Error`].

use gix_hash::ObjectId;
use mirage_core::StackError;

use crate::pktline::PktLineError;

/// A boxed error from an [`crate::ObjectStore`] implementation.
pub type BoxError = Box<dyn core::error::Error + Send + Sync + 'static>;

/// Why a URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// The scheme is none of `git`, `http`, `file`.
    #[error("unsupported URL scheme {0:?} (git://, http:// and file:// are supported)")]
    UnsupportedScheme(String),
    /// `https://` needs TLS, which this crate does not have.
    #[error("https:// is not supported (no TLS); use http:// or git://")]
    Https,
    /// The host is a name, which [`Url::parse`](crate::Url::parse) cannot
    /// resolve.
    #[error(
        "host {0:?} is a name; use Url::resolve with a resolver, or an IP address or localhost"
    )]
    NeedsResolver(String),
    /// The resolver given to [`Url::resolve`](crate::Url::resolve) could not
    /// turn the host name into an address.
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        /// The name as written in the URL.
        host: String,
        /// The resolver's error.
        source: mirage_core::ResolveError,
    },
    /// The URL has no host, a malformed host or port, or no path.
    #[error("malformed URL {0:?}")]
    Malformed(String),
    /// `file://` URLs need the crate's `std` feature.
    #[error("file:// URLs need the `std` feature")]
    FileNeedsStd,
}

/// Why an HTTP exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The response head is not valid HTTP/1.1.
    #[error("malformed HTTP response head")]
    MalformedHead,
    /// The response head is larger than the limit.
    #[error("HTTP response head exceeds {0} bytes")]
    HeadTooLarge(usize),
    /// The server answered with a status other than 200.
    #[error("HTTP status {status} for {path}")]
    Status {
        /// The status code.
        status: u16,
        /// The requested path.
        path: String,
    },
    /// The content type is not the one the smart protocol requires.
    #[error("unexpected content type {0:?} (is the server a smart Git HTTP server?)")]
    ContentType(String),
    /// A chunk header of a chunked body is invalid.
    #[error("malformed chunked transfer encoding")]
    BadChunk,
    /// The body ended before its announced length.
    #[error("HTTP body ended early")]
    TruncatedBody,
}

/// Why the bytes or the transport failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The network stack failed.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// The HTTP layer failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A local `git` process could not be run or talked to.
    #[cfg(feature = "std")]
    #[error("local git process: {0}")]
    Process(#[source] std::io::Error),
}

/// Why a received pack is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// The pack is larger than the configured limit.
    #[error("the pack exceeds the limit of {0} bytes")]
    TooLarge(u64),
    /// The pack does not start with `PACK`, version 2 or 3.
    #[error("not a version 2 or 3 pack")]
    BadHeader,
    /// The pack announces more objects than the configured limit.
    #[error("the pack has {count} objects; the limit is {limit}")]
    TooManyObjects {
        /// Objects announced.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// The trailing checksum does not match the content.
    #[error("the pack checksum does not match its content")]
    Checksum,
    /// An entry's header is truncated or has an invalid type.
    #[error("bad entry header at offset {0}")]
    BadEntry(u64),
    /// An entry's compressed data is corrupt or not the announced size.
    #[error("corrupt compressed data at offset {0}")]
    Zlib(u64),
    /// An object or all objects together are larger than the limit.
    #[error("object data exceeds the limit of {0} bytes")]
    ObjectTooLarge(u64),
    /// A delta refers to a base that is neither in the pack nor in the store.
    #[error("delta at offset {offset} refers to a missing base")]
    MissingBase {
        /// The delta's offset in the pack.
        offset: u64,
    },
    /// A delta's instructions are invalid or do not fit its base.
    #[error("invalid delta at offset {0}")]
    BadDelta(u64),
    /// Deltas nest deeper than the limit.
    #[error("delta chain deeper than {0}")]
    ChainTooDeep(usize),
    /// The data after the last entry is not just the checksum.
    #[error("{0} unexpected bytes after the last entry")]
    TrailingBytes(u64),
    /// An object's content hashes to a SHA-1 collision attack.
    #[error("object at offset {0} could not be hashed (collision attack detected)")]
    Hash(u64),
    /// A commit, tree or tag cannot be decoded.
    #[error("object {0} is malformed")]
    Malformed(ObjectId),
}

/// Why the peer's messages are not what the protocol allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The server does not speak protocol version 2 where it is needed.
    #[error("the server does not offer protocol version 2")]
    NotV2,
    /// The server lacks a command or capability we need.
    #[error("the server lacks the {0:?} capability")]
    MissingCapability(&'static str),
    /// A line does not have the expected form.
    #[error("unexpected line in {context}: {line:?}")]
    UnexpectedLine {
        /// Where it came.
        context: &'static str,
        /// The line (lossily decoded, truncated).
        line: String,
    },
    /// A flush, delimiter or end came where it is not allowed.
    #[error("unexpected {what} in {context}")]
    UnexpectedPacket {
        /// Which packet.
        what: &'static str,
        /// Where it came.
        context: &'static str,
    },
    /// The stream ended in the middle of a message.
    #[error("the connection ended in the middle of a message")]
    UnexpectedEof,
    /// The server reported an error (`ERR` line or side-band channel 3).
    #[error("the server reported: {0}")]
    Remote(String),
    /// An unknown side-band channel.
    #[error("unknown side-band channel {0}")]
    BadChannel(u8),
    /// Negotiation went on for more rounds than allowed.
    #[error("negotiation did not finish within {0} rounds")]
    TooManyRounds(usize),
    /// The server's object format is not SHA-1.
    #[error("unsupported object format {0:?}")]
    ObjectFormat(String),
    /// After fetching, a wanted object or one it reaches is missing.
    #[error("object {0} is missing after the fetch")]
    Incomplete(ObjectId),
    /// Too many references were advertised.
    #[error("more than {0} references advertised")]
    TooManyRefs(usize),
}

/// How an update of one reference in a push went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server rejected the update of {refname}: {reason}")]
pub struct RejectedUpdate {
    /// The reference.
    pub refname: String,
    /// The reason the server gave (`non-fast-forward`, `fetch first`, ...).
    pub reason: String,
}

/// Any failure of a Git remote operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL cannot be used.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A pkt-line is malformed.
    #[error(transparent)]
    PktLine(#[from] PktLineError),
    /// The peer broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The received pack is refused; no object of it should be trusted.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The pack to push could not be built.
    #[error(transparent)]
    PackWrite(#[from] crate::pack::write::WriteError),
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[source] BoxError),
    /// An object the operation needs is not in the store.
    #[error("object {0} is not in the store")]
    MissingObject(ObjectId),
    /// A local object cannot be decoded.
    #[error("object {0} is malformed")]
    MalformedObject(ObjectId),
    /// The server could not unpack what we pushed.
    #[error("the server failed to unpack the pushed pack: {0}")]
    UnpackFailed(String),
    /// The server rejected one or more reference updates of a push.
    #[error("{} reference update(s) rejected, first: {}", .0.len(), .0.first().map(|r| r.to_string()).unwrap_or_default())]
    Rejected(Vec<RejectedUpdate>),
}

impl From<StackError> for Error {
    fn from(e: StackError) -> Self {
        Error::Transport(TransportError::Stack(e))
    }
}

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Self {
        Error::Transport(TransportError::Http(e))
    }
}

/// A short, printable form of a line from the peer for error messages.
pub(crate) fn printable(line: &[u8]) -> String {
    let cut = &line[..line.len().min(120)];
    String::from_utf8_lossy(cut).into_owned()
}
