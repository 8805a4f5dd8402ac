//! Requests as the server hands them to a [`crate::Handler`].

use bytes::Bytes;

use crate::headers::Headers;

/// The request method (RFC 9110 §9). Unknown but well-formed methods are kept
/// as [`Method::Other`] so a handler can answer 405 or 501 itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other token.
    Other(String),
}

impl Method {
    /// The method for a token (case-sensitive, as RFC 9110 §9.1 says).
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method's token as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(s) => s,
        }
    }
}

impl core::fmt::Display for Method {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol versions this server speaks. A request claiming `HTTP/1.x`
/// with x > 1 is treated as HTTP/1.1 (RFC 9110 §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// `HTTP/1.0`: connections close after each response unless the client
    /// asks for `Connection: keep-alive`.
    Http10,
    /// `HTTP/1.1`: persistent by default.
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// The head of a request: request line and header fields, without the body.
/// Produced by [`crate::parse::parse_head`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request-target exactly as sent (origin-form `/path?query`,
    /// absolute-form, authority-form or `*`).
    pub target: String,
    /// The protocol version.
    pub version: Version,
    /// The header fields in arrival order.
    pub headers: Headers,
}

impl RequestHead {
    /// The path of the target, without query (still percent-encoded).
    /// For an absolute-form target (`http://host/path`) this is the path part.
    pub fn path(&self) -> &str {
        let t = self.target.as_str();
        let t = match t.find("://") {
            Some(i) if !t.starts_with('/') => {
                let rest = &t[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            _ => t,
        };
        t.split(['?', '#']).next().unwrap_or("")
    }

    /// The query string after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(""))
    }

    /// Whether the connection may carry another request after this one:
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive` (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        let has = |opt: &str| self.headers.has_token("connection", opt);
        match self.version {
            Version::Http11 => !has("close"),
            Version::Http10 => has("keep-alive") && !has("close"),
        }
    }

    /// Whether the client sent `Expect: 100-continue` and waits for an
    /// interim response before sending its body.
    pub fn expects_continue(&self) -> bool {
        self.version == Version::Http11
            && self
                .headers
                .get("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"))
    }
}

/// A complete request: head, the decoded body (bounded by
/// [`crate::parse::Limits::max_body`]) and any chunked trailer fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Request line and header fields.
    pub head: RequestHead,
    /// The body after transfer decoding; empty when there is none.
    pub body: Bytes,
    /// Trailer fields of a chunked body.
    pub trailers: Headers,
}

impl core::ops::Deref for Request {
    type Target = RequestHead;
    fn deref(&self) -> &RequestHead {
        &self.head
    }
}
