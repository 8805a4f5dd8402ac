//! The request line and header section (RFC 9112 §3, §5).
//!
//! Input: the bytes received so far on a connection, starting at a request.
//! Output: an owned [`RequestHead`] (names lower-cased, values copied) and the
//! number of bytes it took, or [`Status::Partial`].

use bytes::Bytes;
use nom::Parser;
use nom::bytes::streaming::{tag, take, take_while, take_while1};

use super::syntax::{Step, crlf, is_field_byte, is_ows, need, ows, step, token};
use super::{Limits, Status};
use crate::error::Error;
use crate::headers::Headers;
use crate::request::{Method, RequestHead, Version};

/// Parses a request head from the start of `buf`.
///
/// Empty lines before the request line are skipped (RFC 9112 §2.2). Returns
/// the head and the bytes used, including the blank line ending the section.
/// A partial request line whose target is already longer than
/// [`Limits::max_uri`] fails with [`Error::UriTooLong`]; a head that is (or
/// would become) larger than [`Limits::max_head`] with
/// [`Error::HeadersTooLarge`].
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Status<(RequestHead, usize)>, Error> {
    // Only the first `max_head` bytes are looked at: a fault beyond them is
    // reported as the head being too large, so the answer never depends on
    // how the bytes were split across reads.
    let window = &buf[..buf.len().min(limits.max_head)];
    match head(window, limits)? {
        Status::Complete((rest, head)) => Ok(Status::Complete((head, window.len() - rest.len()))),
        Status::Partial if buf.len() > limits.max_head => Err(Error::HeadersTooLarge),
        Status::Partial => Ok(Status::Partial),
    }
}

fn head<'a>(buf: &'a [u8], limits: &Limits) -> Result<Status<(&'a [u8], RequestHead)>, Error> {
    let mut i = buf;
    // Leading empty lines (a client's CRLF after a previous body).
    while i.starts_with(b"\r\n") {
        i = &i[2..];
    }
    if i == b"\r" {
        // The first half of an empty line split across reads.
        return Ok(Status::Partial);
    }
    let (i, method) = need!(token(i, Error::Method));
    let (i, ()) = need!(space(i, Error::Method));
    let (i, target) = need!(target(i, limits));
    let (i, ()) = need!(space(i, Error::Target));
    let (i, version) = need!(version(i));
    let (i, ()) = need!(crlf(i, Error::Version));
    let mut headers = Headers::new();
    let mut i = i;
    loop {
        match need!(field_line(i)) {
            (rest, None) => {
                i = rest;
                break;
            }
            (rest, Some((name, value))) => {
                if headers.len() >= limits.max_headers {
                    return Err(Error::TooManyHeaders);
                }
                headers.append(name, Bytes::copy_from_slice(value));
                i = rest;
            }
        }
    }
    let head = RequestHead {
        // Tokens are ASCII.
        method: Method::from_token(core::str::from_utf8(method).map_err(|_| Error::Method)?),
        target: core::str::from_utf8(target)
            .map_err(|_| Error::Target)?
            .to_owned(),
        version,
        headers,
    };
    check_host(&head)?;
    Ok(Status::Complete((i, head)))
}

/// Exactly one SP.
fn space(i: &[u8], err: Error) -> Step<'_, ()> {
    match i.first() {
        None => Ok(None),
        Some(b' ') => Ok(Some((&i[1..], ()))),
        Some(_) => Err(err),
    }
}

/// The request-target: visible ASCII, no more than `max_uri` bytes.
fn target<'a>(i: &'a [u8], limits: &Limits) -> Step<'a, &'a [u8]> {
    match step(
        take_while1(|b: u8| (0x21..=0x7e).contains(&b)).parse(i),
        Error::Target,
    )? {
        None if i.len() > limits.max_uri => Err(Error::UriTooLong),
        Some((_, t)) if t.len() > limits.max_uri => Err(Error::UriTooLong),
        other => Ok(other),
    }
}

/// `HTTP/DIGIT.DIGIT`, major version 1 only.
fn version(i: &[u8]) -> Step<'_, Version> {
    let (i, _) = match step(tag(&b"HTTP/"[..]).parse(i), Error::Version)? {
        Some(v) => v,
        None => return Ok(None),
    };
    let Some((i, d)) = step(take(3usize).parse(i), Error::Version)? else {
        return Ok(None);
    };
    let (major, dot, minor) = (d[0], d[1], d[2]);
    if !major.is_ascii_digit() || dot != b'.' || !minor.is_ascii_digit() {
        return Err(Error::Version);
    }
    match (major, minor) {
        (b'1', b'0') => Ok(Some((i, Version::Http10))),
        (b'1', _) => Ok(Some((i, Version::Http11))),
        _ => Err(Error::VersionNotSupported),
    }
}

/// One field line, or the empty line ending the section (`None`).
///
/// Also used for chunked trailers.
pub(crate) fn field_line(i: &[u8]) -> Step<'_, Option<(&str, &[u8])>> {
    match i {
        [] | [b'\r'] => return Ok(None),
        [b'\r', b'\n', rest @ ..] => return Ok(Some((rest, None))),
        [b' ' | b'\t', ..] => return Err(Error::ObsFold),
        _ => {}
    }
    let Some((i, name)) = token(i, Error::HeaderName)? else {
        return Ok(None);
    };
    let i = match i.first() {
        None => return Ok(None),
        Some(b':') => &i[1..],
        Some(b' ' | b'\t') => return Err(Error::WhitespaceBeforeColon),
        Some(_) => return Err(Error::HeaderName),
    };
    let Some((i, _)) = ows(i)? else {
        return Ok(None);
    };
    let Some((i, value)) = step(take_while(is_field_byte).parse(i), Error::HeaderValue)? else {
        return Ok(None);
    };
    let Some((i, ())) = crlf(i, Error::HeaderValue)? else {
        return Ok(None);
    };
    let value = trim_end(value);
    let name = core::str::from_utf8(name).map_err(|_| Error::HeaderName)?;
    Ok(Some((i, Some((name, value)))))
}

fn trim_end(mut v: &[u8]) -> &[u8] {
    while let [rest @ .., last] = v {
        if !is_ows(*last) {
            break;
        }
        v = rest;
    }
    v
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host`; an HTTP/1.0
/// request has at most one.
fn check_host(head: &RequestHead) -> Result<(), Error> {
    let n = head.headers.get_all("host").count();
    match (head.version, n) {
        (_, 2..) => Err(Error::Host),
        (Version::Http11, 0) => Err(Error::Host),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn parse(b: &[u8]) -> Result<Status<(RequestHead, usize)>, Error> {
        parse_head(b, &Limits::default())
    }

    fn ok(b: &[u8]) -> RequestHead {
        match parse(b) {
            Ok(Status::Complete((h, n))) => {
                assert_eq!(n, b.len());
                h
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(b)),
        }
    }

    fn err(b: &[u8]) -> Error {
        match parse(b) {
            Err(e) => e,
            other => panic!(
                "{:?}: expected error, got {other:?}",
                String::from_utf8_lossy(b)
            ),
        }
    }

    #[test]
    fn test_parse_simple() {
        let h = ok(b"GET /index.html?a=1 HTTP/1.1\r\nHost: example.org\r\nAccept:  */* \r\n\r\n");
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target, "/index.html?a=1");
        assert_eq!(h.path(), "/index.html");
        assert_eq!(h.query(), Some("a=1"));
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.headers.get("HOST"), Some(&b"example.org"[..]));
        assert_eq!(h.headers.get("accept"), Some(&b"*/*"[..]));
        assert!(h.keep_alive());
    }

    #[test]
    fn test_http10_needs_no_host() {
        let h = ok(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(h.version, Version::Http10);
        assert!(!h.keep_alive());
        let h = ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h.keep_alive());
    }

    #[test]
    fn test_leading_empty_lines_skipped() {
        let h = ok(b"\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.method, Method::Head);
    }

    #[test]
    fn test_leading_empty_line_split_after_cr_is_partial() {
        // Found by the http_request fuzz target: "\r" then "\n" in two reads.
        assert_eq!(parse(b"\r"), Ok(Status::Partial));
        assert_eq!(parse(b"\r\n\r"), Ok(Status::Partial));
        let h = ok(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.method, Method::Get);
    }

    #[test]
    fn test_oversized_head_is_too_large_before_its_other_faults() {
        // Found by the http_request fuzz target: a complete head over the
        // limit and without Host gave 400 whole but 431 when split.
        let limits = Limits {
            max_head: 64,
            ..Limits::default()
        };
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        head.extend_from_slice(format!("X-Filler: {}\r\n\r\n", "a".repeat(80)).as_bytes());
        assert_eq!(parse_head(&head, &limits), Err(Error::HeadersTooLarge));
        assert_eq!(
            parse_head(&head[..70], &limits),
            Err(Error::HeadersTooLarge)
        );
    }

    #[test]
    fn test_partial_at_every_prefix() {
        let full = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
        for n in 0..full.len() {
            assert_eq!(parse(&full[..n]), Ok(Status::Partial), "prefix {n}");
        }
        ok(full);
    }

    #[test]
    fn test_higher_minor_is_11() {
        assert_eq!(
            ok(b"GET / HTTP/1.7\r\nHost: a\r\n\r\n").version,
            Version::Http11
        );
    }

    #[test]
    fn test_errors() {
        assert_eq!(err(b"GET / HTTP/2.0\r\n"), Error::VersionNotSupported);
        assert_eq!(err(b"GET / HTTX/1.1\r\n"), Error::Version);
        assert_eq!(err(b"GET / HTTP/1.1\n"), Error::NewLine);
        assert_eq!(err(b"GET / HTTP/1.1\rX"), Error::BareCr);
        assert_eq!(err(b"GET  / HTTP/1.1\r\n"), Error::Target);
        assert_eq!(err(b"G(T / HTTP/1.1\r\n"), Error::Method);
        assert_eq!(err(b"GET /\x00 HTTP/1.1\r\n"), Error::Target);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            Error::WhitespaceBeforeColon
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"),
            Error::ObsFold
        );
        assert_eq!(err(b"GET / HTTP/1.1\r\n X: a\r\n\r\n"), Error::ObsFold);
        assert_eq!(err(b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), Error::BareCr);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX: a\nHost: b\r\n\r\n"),
            Error::NewLine
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n"),
            Error::HeaderValue
        );
        assert_eq!(err(b"GET / HTTP/1.1\r\nX@Y: a\r\n\r\n"), Error::HeaderName);
        assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), Error::Host);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            Error::Host
        );
    }

    #[test]
    fn test_limits() {
        let limits = Limits {
            max_uri: 10,
            max_head: 64,
            max_headers: 2,
            ..Limits::default()
        };
        let p = |b: &[u8]| parse_head(b, &limits);
        assert_eq!(p(b"GET /0123456789"), Err(Error::UriTooLong));
        assert_eq!(p(b"GET /012345678 HTTP/1.1\r\n"), Ok(Status::Partial));
        assert_eq!(p(b"GET /0123456789 HTTP/1.1\r\n"), Err(Error::UriTooLong));
        assert_eq!(
            p(b"GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nC: c\r\n\r\n"),
            Err(Error::TooManyHeaders)
        );
        let mut big = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        big.extend([b'x'; 40]);
        assert_eq!(p(&big), Err(Error::HeadersTooLarge));
        assert_eq!(Error::UriTooLong.status(), 414);
        assert_eq!(Error::HeadersTooLarge.status(), 431);
    }
}
