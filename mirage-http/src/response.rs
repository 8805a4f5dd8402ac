//! Responses a [`crate::Handler`] returns, with bodies that may stream.

use bytes::Bytes;
use futures::stream::LocalBoxStream;
use mirage_core::{KvError, Region};

use crate::headers::Headers;

/// Why a streaming body stopped early. The head is already sent by then, so
/// the server can only abort the connection; the client sees a short body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Reading the key-value store failed.
    #[error("reading the body from the store failed: {0}")]
    Kv(#[from] KvError),
    /// The source ended before the announced length (the value shrank).
    #[error("the body ended after {got} of {expected} bytes")]
    Truncated {
        /// Bytes produced.
        got: u64,
        /// Bytes announced in `Content-Length`.
        expected: u64,
    },
    /// The source produced more than the announced length.
    #[error("the body is longer than the {expected} bytes announced")]
    TooLong {
        /// Bytes announced in `Content-Length`.
        expected: u64,
    },
}

/// A response body.
pub enum Body<'a> {
    /// No body (length 0).
    Empty,
    /// A body held in memory.
    Full(Bytes),
    /// A region of a stored value, lent by the store
    /// ([`KvRo::region`](mirage_core::KvRo::region)) and sent by the flow
    /// without passing through the server's memory where the backend can
    /// (`sendfile(2)` on host sockets); sent with `Content-Length`.
    Region(Region),
    /// A body produced chunk by chunk, never held whole. With a known `len`
    /// it is sent with `Content-Length`; without, chunked (HTTP/1.1) or
    /// delimited by closing the connection (HTTP/1.0). For `HEAD` the stream
    /// is never polled.
    Stream {
        /// The exact length, if known.
        len: Option<u64>,
        /// The chunks.
        stream: LocalBoxStream<'a, Result<Bytes, BodyError>>,
    },
}

impl Body<'_> {
    /// The body's length, when known without reading it.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Full(b) => Some(b.len() as u64),
            Body::Region(r) => Some(r.len()),
            Body::Stream { len, .. } => *len,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl core::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Region(r) => write!(f, "Body::Region({} bytes)", r.len()),
            Body::Stream { len, .. } => write!(f, "Body::Stream(len: {len:?})"),
        }
    }
}

/// A response: status, header fields and body. The server adds `Date`,
/// `Server`, `Content-Length`/`Transfer-Encoding` and `Connection` itself.
/// A handler that sets `Connection: close` makes the server close the
/// connection after this response.
#[derive(Debug)]
pub struct Response<'a> {
    /// The status code.
    pub status: u16,
    /// Header fields to send.
    pub headers: Headers,
    /// The body.
    pub body: Body<'a>,
}

impl<'a> Response<'a> {
    /// A response with `status`, no fields and no body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Headers::new(),
            body: Body::Empty,
        }
    }

    /// A `text/plain` response whose body is the status line's words
    /// (`404 Not Found`), as servers answer errors.
    pub fn error(status: u16) -> Self {
        let mut r = Response::new(status);
        r.headers
            .insert("content-type", "text/plain; charset=utf-8");
        r.body = Body::Full(Bytes::from(format!("{status} {}\n", reason(status))));
        r
    }

    /// Adds a header field (builder style).
    pub fn with_header(mut self, name: &str, value: impl Into<Bytes>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }
}

/// The reason phrase for a status code ("" for unknown codes).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
