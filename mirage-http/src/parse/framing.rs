//! How a request body is delimited (RFC 9112 §6).
//!
//! The rules that keep two parsers from disagreeing about where a request
//! ends: `Transfer-Encoding` and `Content-Length` together are refused, every
//! `Content-Length` must carry the same number, `chunked` must be the final
//! (and only) transfer coding, and HTTP/1.0 requests may not use
//! `Transfer-Encoding` at all.

use super::Limits;
use crate::error::Error;
use crate::request::{RequestHead, Version};

/// The framing of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes follow the head (0 when neither header is sent).
    Length(u64),
    /// A `chunked` body with optional trailers.
    Chunked,
}

/// The body framing `head` announces, refusing ambiguous or oversized ones.
pub fn framing(head: &RequestHead, limits: &Limits) -> Result<Framing, Error> {
    let has_te = head.headers.contains("transfer-encoding");
    let has_cl = head.headers.contains("content-length");
    if has_te && has_cl {
        return Err(Error::LengthAndTransferEncoding);
    }
    if has_te {
        if head.version == Version::Http10 {
            return Err(Error::TransferEncoding);
        }
        return transfer_encoding(head);
    }
    if has_cl {
        let len = content_length(head)?;
        if len > limits.max_body {
            return Err(Error::BodyTooLarge);
        }
        return Ok(Framing::Length(len));
    }
    Ok(Framing::Length(0))
}

fn transfer_encoding(head: &RequestHead) -> Result<Framing, Error> {
    let codings: Vec<&[u8]> = head
        .headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty())
        .collect();
    let chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
    match codings.split_last() {
        Some((last, rest)) if chunked(last) => {
            if rest.iter().any(chunked) {
                Err(Error::TransferEncoding)
            } else if !rest.is_empty() {
                Err(Error::UnsupportedTransferEncoding)
            } else {
                Ok(Framing::Chunked)
            }
        }
        _ => Err(Error::TransferEncoding),
    }
}

fn content_length(head: &RequestHead) -> Result<u64, Error> {
    let mut found: Option<u64> = None;
    for value in head.headers.get_all("content-length") {
        for part in value.split(|&b| b == b',') {
            let n = decimal(part.trim_ascii()).ok_or(Error::ContentLength)?;
            match found {
                Some(m) if m != n => return Err(Error::ConflictingContentLength),
                _ => found = Some(n),
            }
        }
    }
    found.ok_or(Error::ContentLength)
}

/// `1*DIGIT` as a u64, refusing signs, spaces and overflow.
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::parse::{Status, parse_head};

    fn frame(b: &[u8]) -> Result<Framing, Error> {
        let limits = Limits::default();
        let Ok(Status::Complete((head, _))) = parse_head(b, &limits) else {
            panic!("head does not parse")
        };
        framing(&head, &limits)
    }

    #[test]
    fn test_framing() {
        assert_eq!(
            frame(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Ok(Framing::Length(0))
        );
        assert_eq!(
            frame(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n"),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            frame(
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"
            ),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            frame(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
    }

    #[test]
    fn test_framing_refused() {
        let cases: &[(&[u8], Error)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                Error::LengthAndTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                Error::ConflictingContentLength,
            ),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", Error::ContentLength),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", Error::ContentLength),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", Error::ContentLength),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                Error::ContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n",
                Error::BodyTooLarge,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                Error::TransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Error::UnsupportedTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                Error::TransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
                Error::TransferEncoding,
            ),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Error::TransferEncoding),
        ];
        for (req, e) in cases {
            assert_eq!(frame(req), Err(*e), "{:?}", String::from_utf8_lossy(req));
        }
        assert_eq!(Error::UnsupportedTransferEncoding.status(), 501);
        assert_eq!(Error::BodyTooLarge.status(), 413);
    }
}
