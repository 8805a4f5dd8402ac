//! The pkt-line framing every Git protocol message uses (gitprotocol-common).
//!
//! A packet is four hexadecimal digits giving the length of the whole packet
//! (header included) followed by that many minus four bytes of payload. Four
//! lengths are special: `0000` (flush), `0001` (delimiter, protocol v2),
//! `0002` (response end, protocol v2); `0003` is invalid, and no packet is
//! longer than [`MAX_PKT_LEN`] bytes. The decoder never allocates: it borrows
//! the payload from the caller's buffer and reports a short buffer as
//! `Ok(None)`, so bytes can be fed in any pieces.
//!
//! ```
//! use mirage_git::pktline::{self, Packet};
//! let mut out = Vec::new();
//! pktline::encode_data(b"version 2\n", &mut out).unwrap();
//! pktline::encode(Packet::Flush, &mut out).unwrap();
//! assert_eq!(out, b"000eversion 2\n0000");
//! let (packet, used) = pktline::decode(&out).unwrap().unwrap();
//! assert_eq!(packet, Packet::Data(b"version 2\n"));
//! assert_eq!(pktline::decode(&out[used..]).unwrap(), Some((Packet::Flush, 4)));
//! ```

mod reader;

pub use reader::{Line, PacketSource, PktReader, text};

/// The largest packet, header included (65520 bytes).
pub const MAX_PKT_LEN: usize = 65520;
/// The largest payload of a data packet (65516 bytes).
pub const MAX_DATA_LEN: usize = MAX_PKT_LEN - 4;

/// One decoded packet; data borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0000`: ends a message (or a list).
    Flush,
    /// `0001`: separates sections of a protocol v2 message.
    Delim,
    /// `0002`: ends a protocol v2 response in stateless (HTTP) mode.
    ResponseEnd,
    /// A data packet's payload (possibly empty, from `0004`).
    Data(&'a [u8]),
}

impl<'a> Packet<'a> {
    /// The payload with one trailing `\n` removed, for text packets.
    pub fn line(&self) -> Option<&'a [u8]> {
        match *self {
            Packet::Data(d) => Some(d.strip_suffix(b"\n").unwrap_or(d)),
            _ => None,
        }
    }

    /// How many bytes the packet takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            Packet::Data(d) => d.len() + 4,
            _ => 4,
        }
    }
}

/// Why bytes are not a valid pkt-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PktLineError {
    /// The four length bytes are not hexadecimal digits.
    #[error("pkt-line length {0:?} is not four hexadecimal digits")]
    BadHex([u8; 4]),
    /// The length `0003` (shorter than its own header) was given.
    #[error("pkt-line length {0} is shorter than the four-byte header")]
    TooShort(usize),
    /// The length exceeds [`MAX_PKT_LEN`].
    #[error("pkt-line length {0} exceeds the maximum of 65520")]
    TooLong(usize),
    /// A payload to encode is longer than [`MAX_DATA_LEN`].
    #[error("a pkt-line payload of {0} bytes exceeds the maximum of 65516")]
    PayloadTooLong(usize),
}

fn hex_value(b: u8) -> Option<usize> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as usize),
        b'a'..=b'f' => Some((b - b'a' + 10) as usize),
        b'A'..=b'F' => Some((b - b'A' + 10) as usize),
        _ => None,
    }
}

/// Reads the four-byte length header: the packet's total length, or the
/// special value (0, 1, 2) as is.
pub fn decode_len(header: [u8; 4]) -> Result<usize, PktLineError> {
    let mut len = 0usize;
    for b in header {
        len = len * 16 + hex_value(b).ok_or(PktLineError::BadHex(header))?;
    }
    match len {
        3 => Err(PktLineError::TooShort(len)),
        l if l > MAX_PKT_LEN => Err(PktLineError::TooLong(l)),
        l => Ok(l),
    }
}

/// Decodes the packet at the start of `input`: `Ok(None)` if `input` holds
/// only part of it, otherwise the packet and how many bytes it took.
pub fn decode(input: &[u8]) -> Result<Option<(Packet<'_>, usize)>, PktLineError> {
    let Some(header) = input.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = decode_len(*header)?;
    Ok(match len {
        0 => Some((Packet::Flush, 4)),
        1 => Some((Packet::Delim, 4)),
        2 => Some((Packet::ResponseEnd, 4)),
        l if input.len() >= l => Some((Packet::Data(&input[4..l]), l)),
        _ => None,
    })
}

/// Appends one packet to `out`.
pub fn encode(packet: Packet<'_>, out: &mut Vec<u8>) -> Result<(), PktLineError> {
    match packet {
        Packet::Flush => out.extend_from_slice(b"0000"),
        Packet::Delim => out.extend_from_slice(b"0001"),
        Packet::ResponseEnd => out.extend_from_slice(b"0002"),
        Packet::Data(d) => encode_data(d, out)?,
    }
    Ok(())
}

/// Appends a data packet carrying `data` to `out`.
pub fn encode_data(data: &[u8], out: &mut Vec<u8>) -> Result<(), PktLineError> {
    if data.len() > MAX_DATA_LEN {
        return Err(PktLineError::PayloadTooLong(data.len()));
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let len = data.len() + 4;
    out.extend([12, 8, 4, 0].iter().map(|shift| HEX[(len >> shift) & 0xf]));
    out.extend_from_slice(data);
    Ok(())
}

/// Appends a text packet: `text` followed by `\n`.
pub fn encode_line(text: &str, out: &mut Vec<u8>) -> Result<(), PktLineError> {
    if text.len() + 1 > MAX_DATA_LEN {
        return Err(PktLineError::PayloadTooLong(text.len() + 1));
    }
    let mut line = Vec::with_capacity(text.len() + 1);
    line.extend_from_slice(text.as_bytes());
    line.push(b'\n');
    encode_data(&line, out)
}

/// Appends `data` as a sequence of side-band packets on `channel`, each at
/// most [`MAX_DATA_LEN`] bytes long (for servers and tests).
pub fn encode_sideband(channel: u8, data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(MAX_DATA_LEN - 1) {
        let mut payload = Vec::with_capacity(chunk.len() + 1);
        payload.push(channel);
        payload.extend_from_slice(chunk);
        // The chunk size keeps the payload within the limit.
        let _ = encode_data(&payload, out);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_decode_special() {
        assert_eq!(decode(b"0000").unwrap(), Some((Packet::Flush, 4)));
        assert_eq!(decode(b"0001").unwrap(), Some((Packet::Delim, 4)));
        assert_eq!(decode(b"0002").unwrap(), Some((Packet::ResponseEnd, 4)));
        assert_eq!(decode(b"0003"), Err(PktLineError::TooShort(3)));
        assert_eq!(decode(b"0004").unwrap(), Some((Packet::Data(b""), 4)));
    }

    #[test]
    fn test_decode_partial_and_errors() {
        assert_eq!(decode(b"00").unwrap(), None);
        assert_eq!(decode(b"0009abc").unwrap(), None);
        assert_eq!(
            decode(b"0009abcde").unwrap(),
            Some((Packet::Data(b"abcde"), 9))
        );
        assert_eq!(decode(b"00g0"), Err(PktLineError::BadHex(*b"00g0")));
        assert_eq!(decode(b"fff1"), Err(PktLineError::TooLong(0xfff1)));
        assert_eq!(decode(b"FFF0").unwrap(), None);
    }

    #[test]
    fn test_encode() {
        let mut out = Vec::new();
        encode_line("want 1234", &mut out).unwrap();
        encode(Packet::Delim, &mut out).unwrap();
        assert_eq!(out, b"000ewant 1234\n0001");
        assert_eq!(
            encode_data(&vec![0; MAX_DATA_LEN + 1], &mut out),
            Err(PktLineError::PayloadTooLong(MAX_DATA_LEN + 1))
        );
    }

    #[test]
    fn test_line() {
        assert_eq!(Packet::Data(b"abc\n").line(), Some(&b"abc"[..]));
        assert_eq!(Packet::Data(b"abc").line(), Some(&b"abc"[..]));
        assert_eq!(Packet::Flush.line(), None);
    }
}
