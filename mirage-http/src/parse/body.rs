//! Request bodies: `Content-Length` and `chunked` (RFC 9112 §6, §7.1).
//!
//! [`BodyDecoder`] takes bytes from the front of a connection buffer and
//! appends the decoded body to another, keeping incomplete chunk lines in
//! the input until the rest arrives.

use bytes::{Buf, BytesMut};
use nom::Parser;
use nom::bytes::streaming::{take_while, take_while1};

use super::Limits;
use super::framing::Framing;
use super::head::field_line;
use super::syntax::{crlf, is_field_byte, is_ows, step};
use crate::error::Error;
use crate::headers::Headers;

/// Longest chunk-size line we accept (size, extensions, CRLF).
const MAX_CHUNK_LINE: usize = 1024;
/// Most hex digits in a chunk size (a u64).
const MAX_CHUNK_DIGITS: usize = 16;

/// Decodes one request body.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
    received: u64,
    trailer_bytes: usize,
    trailer_fields: usize,
    limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Done,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`, bounded by `limits`.
    pub fn new(framing: Framing, limits: &Limits) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
        };
        BodyDecoder {
            state,
            received: 0,
            trailer_bytes: 0,
            trailer_fields: 0,
            limits: *limits,
        }
    }

    /// Moves what it can from `input` to `body` (and trailer fields to
    /// `trailers`). Returns `Ok(true)` once the body is complete; bytes after
    /// it (the next request) are left in `input`.
    pub fn decode(
        &mut self,
        input: &mut BytesMut,
        body: &mut BytesMut,
        trailers: &mut Headers,
    ) -> Result<bool, Error> {
        loop {
            match self.state {
                State::Done => return Ok(true),
                State::Length(n) | State::ChunkData(n) => {
                    if input.is_empty() {
                        return Ok(false);
                    }
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(input.len());
                    body.extend_from_slice(&input.split_to(take));
                    let left = n - take as u64;
                    self.state = match (self.state, left) {
                        (State::Length(_), 0) => State::Done,
                        (State::Length(_), l) => State::Length(l),
                        (_, 0) => State::ChunkEnd,
                        (_, l) => State::ChunkData(l),
                    };
                }
                State::ChunkSize => {
                    let Some((used, size)) = chunk_size_line(input)? else {
                        return Ok(false);
                    };
                    input.advance(used);
                    self.received = self
                        .received
                        .checked_add(size)
                        .filter(|&r| r <= self.limits.max_body)
                        .ok_or(Error::BodyTooLarge)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkEnd => match crlf(input, Error::ChunkTerminator) {
                    Ok(None) => return Ok(false),
                    Ok(Some(_)) => {
                        input.advance(2);
                        self.state = State::ChunkSize;
                    }
                    Err(_) => return Err(Error::ChunkTerminator),
                },
                State::Trailers => {
                    // Only the bytes within the trailer section's remaining
                    // budget are looked at, so a fault beyond it is the
                    // section being too large however the bytes were split
                    // across reads. A line is parsed only once it is
                    // complete, so a line dripped byte by byte is not
                    // parsed per byte.
                    let remaining = self.limits.max_head.saturating_sub(self.trailer_bytes);
                    let window = &input[..input.len().min(remaining)];
                    let parsed = if window.contains(&b'\n') {
                        field_line(window)?
                    } else {
                        None
                    };
                    let Some((rest, field)) = parsed else {
                        if input.len() > remaining {
                            return Err(Error::HeadersTooLarge);
                        }
                        return Ok(false);
                    };
                    let used = window.len() - rest.len();
                    self.trailer_bytes += used;
                    if self.trailer_bytes > self.limits.max_head {
                        return Err(Error::HeadersTooLarge);
                    }
                    match field {
                        None => self.state = State::Done,
                        Some((name, value)) => {
                            self.trailer_fields += 1;
                            if self.trailer_fields > self.limits.max_headers {
                                return Err(Error::TooManyHeaders);
                            }
                            trailers.append(name, bytes::Bytes::copy_from_slice(value));
                        }
                    }
                    input.advance(used);
                }
            }
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

/// `chunk-size [ chunk-ext ] CRLF`: the bytes used and the size.
fn chunk_size_line(input: &[u8]) -> Result<Option<(usize, u64)>, Error> {
    // Only the first `MAX_CHUNK_LINE` bytes are looked at, so the answer
    // never depends on how the bytes were split across reads.
    let i = &input[..input.len().min(MAX_CHUNK_LINE)];
    let Some((rest, digits)) = step(
        take_while1(|b: u8| b.is_ascii_hexdigit()).parse(i),
        Error::ChunkSize,
    )?
    else {
        return if i.len() > MAX_CHUNK_DIGITS {
            Err(Error::ChunkSize)
        } else {
            Ok(None)
        };
    };
    if digits.len() > MAX_CHUNK_DIGITS {
        return Err(Error::ChunkSize);
    }
    let size = digits
        .iter()
        .try_fold(0u64, |n, &d| {
            let v = (d as char).to_digit(16)?;
            n.checked_mul(16)?.checked_add(u64::from(v))
        })
        .ok_or(Error::ChunkSize)?;
    let Some((after_ext, ext)) =
        step(take_while(is_field_byte).parse(rest), Error::ChunkExtension)?
    else {
        return if input.len() > MAX_CHUNK_LINE {
            Err(Error::ChunkExtension)
        } else {
            Ok(None)
        };
    };
    if !ext.is_empty() {
        check_extension(ext)?;
    }
    let Some((end, ())) = crlf(after_ext, Error::ChunkExtension)? else {
        return if input.len() > MAX_CHUNK_LINE {
            Err(Error::ChunkExtension)
        } else {
            Ok(None)
        };
    };
    let used = i.len() - end.len();
    if used > MAX_CHUNK_LINE {
        return Err(Error::ChunkExtension);
    }
    Ok(Some((used, size)))
}

/// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`, checked loosely:
/// every extension starts with `;` and a token name. Extensions are ignored.
fn check_extension(ext: &[u8]) -> Result<(), Error> {
    let ext = ext.trim_ascii_start();
    let Some(rest) = ext.strip_prefix(b";") else {
        // Something other than an extension after the digits: "5x", "5 5".
        return Err(Error::ChunkSize);
    };
    for part in rest.split(|&b| b == b';') {
        let name = part.split(|&b| b == b'=').next().unwrap_or(&[]);
        let name = name.trim_ascii_start();
        let name_end = name.iter().position(|&b| is_ows(b)).unwrap_or(name.len());
        if name_end == 0 || !name[..name_end].iter().all(|&b| super::syntax::is_tchar(b)) {
            return Err(Error::ChunkExtension);
        }
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    fn decode_all(framing: Framing, input: &[u8]) -> Result<(Vec<u8>, Headers, usize), Error> {
        let mut d = BodyDecoder::new(framing, &Limits::default());
        let mut buf = BytesMut::from(input);
        let mut body = BytesMut::new();
        let mut trailers = Headers::new();
        assert!(d.decode(&mut buf, &mut body, &mut trailers)?, "incomplete");
        Ok((body.to_vec(), trailers, buf.len()))
    }

    #[test]
    fn test_length() {
        let (b, _, left) = decode_all(Framing::Length(5), b"helloGET").unwrap();
        assert_eq!((&b[..], left), (&b"hello"[..], 3));
    }

    #[test]
    fn test_chunked() {
        let (b, t, left) = decode_all(
            Framing::Chunked,
            b"5\r\nhello\r\n6;ext=1;x=\"q\"\r\n world\r\n0\r\nExpires: never\r\n\r\nNEXT",
        )
        .unwrap();
        assert_eq!(b, b"hello world");
        assert_eq!(t.get("expires"), Some(&b"never"[..]));
        assert_eq!(left, 4);
        let (b, _, _) = decode_all(Framing::Chunked, b"A\r\n0123456789\r\n000\r\n\r\n").unwrap();
        assert_eq!(b, b"0123456789");
    }

    #[test]
    fn test_chunked_partial_everywhere() {
        let full = b"5\r\nhello\r\n0\r\nA: b\r\n\r\n";
        for cut in 0..full.len() {
            let mut d = BodyDecoder::new(Framing::Chunked, &Limits::default());
            let mut body = BytesMut::new();
            let mut t = Headers::new();
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(
                d.decode(&mut buf, &mut body, &mut t),
                Ok(false),
                "cut {cut}"
            );
            buf.extend_from_slice(&full[cut..]);
            assert_eq!(d.decode(&mut buf, &mut body, &mut t), Ok(true), "cut {cut}");
            assert_eq!(&body[..], b"hello");
        }
    }

    #[test]
    fn test_trailer_fault_beyond_the_limit_is_too_large_however_split() {
        // A trailer line whose bad byte (a backspace) lies beyond max_head:
        // too large whether it arrives whole or in two pieces.
        let limits = Limits {
            max_head: 32,
            ..Limits::default()
        };
        let mut input = b"0\r\nX-Trailer: ".to_vec();
        input.extend_from_slice(&[b'v'; 40]);
        input.extend_from_slice(b"\x08\r\n\r\n");
        for cut in 0..=input.len() {
            let mut d = BodyDecoder::new(Framing::Chunked, &limits);
            let (mut body, mut t) = (BytesMut::new(), Headers::new());
            let mut buf = BytesMut::from(&input[..cut]);
            let first = d.decode(&mut buf, &mut body, &mut t);
            let answer = match first {
                Ok(false) => {
                    buf.extend_from_slice(&input[cut..]);
                    d.decode(&mut buf, &mut body, &mut t)
                }
                other => other,
            };
            assert_eq!(answer, Err(Error::HeadersTooLarge), "cut {cut}");
        }
    }

    #[test]
    fn test_chunked_refused() {
        let cases: &[(&[u8], Error)] = &[
            (b"x\r\n", Error::ChunkSize),
            (b"-1\r\n", Error::ChunkSize),
            (b"5x\r\nhello\r\n0\r\n\r\n", Error::ChunkSize),
            (b"5 5\r\nhello\r\n0\r\n\r\n", Error::ChunkSize),
            (b"0x5\r\nhello\r\n0\r\n\r\n", Error::ChunkSize),
            (b"11111111111111111\r\n", Error::ChunkSize),
            (b"fffffffffffffffff", Error::ChunkSize),
            (b"5\nhello\r\n0\r\n\r\n", Error::NewLine),
            (b"5\rhello\r\n0\r\n\r\n", Error::BareCr),
            (b"5\r\nhelloXX0\r\n\r\n", Error::ChunkTerminator),
            (b"5\r\nhello\n0\r\n\r\n", Error::ChunkTerminator),
            (b"5;\r\nhello\r\n0\r\n\r\n", Error::ChunkExtension),
            (b"0\r\n X: y\r\n\r\n", Error::ObsFold),
            (b"200000\r\n", Error::BodyTooLarge),
        ];
        for (input, e) in cases {
            assert_eq!(
                decode_all(Framing::Chunked, input).map(|_| ()),
                Err(*e),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
