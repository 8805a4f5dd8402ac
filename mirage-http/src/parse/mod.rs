//! The request parser: incremental, strict, built with nom.
//!
//! Input arrives in pieces. Every function here takes the bytes received so
//! far and answers [`Status::Partial`] when they are a correct prefix of a
//! request that is not complete yet, so short input is never an error. Bytes
//! that can no longer become a valid request are an [`Error`] at once, and
//! each error names the status the server answers with.
//!
//! The grammar is RFC 9112, read strictly where leniency lets two parsers
//! disagree on where a message ends (request smuggling): lines end in CRLF
//! only, obsolete line folding and whitespace before a colon are refused,
//! `Content-Length` with `Transfer-Encoding` is refused, and chunk sizes are
//! bounded hex numbers.
//!
//! - [`parse_head`]: request line and header fields ([`head`]).
//! - [`framing()`]: how the body is delimited ([`framing`](mod@framing)).
//! - [`BodyDecoder`]: a `Content-Length` or `chunked` body, with trailers ([`body`]).
//! - [`RequestParser`]: the three above as one push parser, as the server uses them.
//!
//! ```
//! use mirage_http::parse::{parse_head, Limits, Status};
//! let limits = Limits::default();
//! assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: a", &limits), Ok(Status::Partial));
//! let Ok(Status::Complete((head, used))) = parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &limits)
//! else { panic!() };
//! assert_eq!((head.target.as_str(), used), ("/", 27));
//! ```

pub mod body;
pub mod framing;
pub mod head;
mod syntax;

pub use body::BodyDecoder;
pub use framing::{Framing, framing};
pub use head::parse_head;

use bytes::BytesMut;

use crate::error::Error;
use crate::headers::Headers;
use crate::request::{Request, RequestHead};

/// The result of parsing input that may be incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status<T> {
    /// The input held a whole item.
    Complete(T),
    /// The input is a valid prefix; more bytes are needed.
    Partial,
}

/// Size limits the parser enforces, each with the status it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request-target in bytes (414). Default 8 KiB.
    pub max_uri: usize,
    /// Largest header section, request line included (431). Also bounds the
    /// trailer section of a chunked body. Default 16 KiB.
    pub max_head: usize,
    /// Most header fields (431). Default 100.
    pub max_headers: usize,
    /// Largest decoded request body (413). Default 1 MiB.
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uri: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 100,
            max_body: 1024 * 1024,
        }
    }
}

/// What [`RequestParser::advance`] reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The buffer holds no complete step; read more bytes and call again.
    NeedMore,
    /// The head is complete and a body follows. Reported once per request so
    /// the server can send `100 Continue` when `expects_continue` is set.
    AwaitingBody {
        /// The client sent `Expect: 100-continue`.
        expects_continue: bool,
    },
    /// A whole request; its bytes have been removed from the buffer, which
    /// may already hold the next (pipelined) request.
    Request(Request),
}

/// A push parser for a stream of requests on one connection: head, framing
/// and body, one request after another.
///
/// A head arriving in many small pieces is not parsed again for each piece
/// (a client dripping a 16 KiB head byte by byte would otherwise cost the
/// server 16 KiB of parsing per byte). The head is parsed when its first
/// bytes arrive (so garbage is refused at once), when a line is completed,
/// and when the buffer outgrows a limit; in between, new bytes are only
/// scanned for a line feed. A head has at most
/// [`Limits::max_headers`] + 2 lines, so the parses per request are bounded
/// whatever the pieces.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    state: State,
    scan: Scan,
}

/// How far the head in the buffer has been looked at.
#[derive(Debug, Default)]
struct Scan {
    /// The head was parsed at least once.
    parsed: bool,
    /// Bytes of the buffer already scanned for a line feed.
    scanned: usize,
}

#[derive(Debug)]
enum State {
    Head,
    Body(Box<BodyState>),
}

#[derive(Debug)]
struct BodyState {
    head: RequestHead,
    decoder: BodyDecoder,
    body: BytesMut,
    trailers: Headers,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            state: State::Head,
            scan: Scan::default(),
        }
    }

    /// Whether parsing the head in `buf` now can tell more than last time.
    fn worth_parsing(&mut self, buf: &[u8]) -> bool {
        let first = !self.scan.parsed;
        let before = self.scan.scanned;
        self.scan.parsed = true;
        self.scan.scanned = buf.len();
        if first || buf.len() > self.limits.max_head {
            return true;
        }
        if before <= self.limits.max_uri && buf.len() > self.limits.max_uri {
            return true;
        }
        // A completed line: the head may now be complete, or wrong.
        buf[before.min(buf.len())..].contains(&b'\n')
    }

    /// Whether the parser is between requests (nothing of the next request
    /// has been consumed from the buffer yet).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head)
    }

    /// Consumes what it can from the front of `buf`. After an error the
    /// connection's framing is lost: answer with [`Error::status`] and close.
    pub fn advance(&mut self, buf: &mut BytesMut) -> Result<Progress, Error> {
        match core::mem::replace(&mut self.state, State::Head) {
            State::Head => {
                if !self.worth_parsing(buf) {
                    return Ok(Progress::NeedMore);
                }
                let Status::Complete((head, used)) = parse_head(buf, &self.limits)? else {
                    return Ok(Progress::NeedMore);
                };
                let framing = framing(&head, &self.limits)?;
                let _ = buf.split_to(used);
                self.scan = Scan::default();
                if framing == Framing::Length(0) {
                    return Ok(Progress::Request(Request {
                        head,
                        body: Default::default(),
                        trailers: Headers::new(),
                    }));
                }
                let expects_continue = head.expects_continue();
                self.state = State::Body(Box::new(BodyState {
                    head,
                    decoder: BodyDecoder::new(framing, &self.limits),
                    body: BytesMut::new(),
                    trailers: Headers::new(),
                }));
                Ok(Progress::AwaitingBody { expects_continue })
            }
            State::Body(mut b) => {
                if !b.decoder.decode(buf, &mut b.body, &mut b.trailers)? {
                    self.state = State::Body(b);
                    return Ok(Progress::NeedMore);
                }
                let BodyState {
                    head,
                    body,
                    trailers,
                    ..
                } = *b;
                Ok(Progress::Request(Request {
                    head,
                    body: body.freeze(),
                    trailers,
                }))
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_dripped_head_is_parsed_a_bounded_number_of_times() {
        let mut head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Drip: ".to_vec();
        head.extend(std::iter::repeat_n(b'x', 12_000));
        head.extend_from_slice(b"\r\n\r\n");
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut parses = 0;
        let mut done = false;
        for b in head {
            buf.extend_from_slice(&[b]);
            if parser.worth_parsing(&buf) {
                parses += 1;
                // What advance does after deciding to parse.
                if let Status::Complete(_) = parse_head(&buf, &parser.limits).unwrap() {
                    done = true;
                }
            }
        }
        assert!(done);
        // First byte, the request line, Host, crossing max_uri, X-Drip and
        // the blank line: six parses for 12 KB dripped byte by byte.
        assert_eq!(parses, 6);
    }
}
