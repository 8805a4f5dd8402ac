//! [`PktReader`]: packets from an [`Input`] through one fixed buffer.

use super::{MAX_PKT_LEN, Packet, decode_len};
use crate::error::{Error, ProtocolError};
use crate::io::Input;

/// Reads packets from an [`Input`] with a buffer of twice the largest
/// packet; memory use never depends on what the peer sends.
#[derive(Debug)]
pub struct PktReader<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

enum Kind {
    Flush,
    Delim,
    End,
    Data(usize, usize),
}

impl<R: Input> PktReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        PktReader {
            inner,
            buf: vec![0; 2 * MAX_PKT_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The wrapped input.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Takes the bytes read from the input but not yet parsed as packets
    /// (for a peer that switches from pkt-lines to raw data, as a pack
    /// after push commands).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let out = self.buf[self.start..self.end].to_vec();
        self.start = 0;
        self.end = 0;
        out
    }

    /// Unwraps the input; bytes already buffered are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    async fn fill(&mut self) -> Result<bool, Error> {
        if self.start > 0 && self.buf.len() - self.end < MAX_PKT_LEN {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = self.inner.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n > 0)
    }

    /// The next packet, or `None` if the stream ends cleanly between packets.
    pub async fn read_packet_or_eof(&mut self) -> Result<Option<Packet<'_>>, Error> {
        let kind = loop {
            let avail = self.end - self.start;
            if avail >= 4 {
                let mut header = [0; 4];
                header.copy_from_slice(&self.buf[self.start..self.start + 4]);
                let len = decode_len(header)?;
                let kind = match len {
                    0 => Some(Kind::Flush),
                    1 => Some(Kind::Delim),
                    2 => Some(Kind::End),
                    l if avail >= l => Some(Kind::Data(self.start + 4, self.start + l)),
                    _ => None,
                };
                if let Some(kind) = kind {
                    break kind;
                }
            }
            if !self.fill().await? {
                if self.end == self.start {
                    return Ok(None);
                }
                return Err(ProtocolError::UnexpectedEof.into());
            }
        };
        Ok(Some(match kind {
            Kind::Flush => {
                self.start += 4;
                Packet::Flush
            }
            Kind::Delim => {
                self.start += 4;
                Packet::Delim
            }
            Kind::End => {
                self.start += 4;
                Packet::ResponseEnd
            }
            Kind::Data(from, to) => {
                self.start = to;
                Packet::Data(&self.buf[from..to])
            }
        }))
    }

    /// The next packet; the end of the stream is an error.
    pub async fn read_packet(&mut self) -> Result<Packet<'_>, Error> {
        match self.read_packet_or_eof().await? {
            Some(p) => Ok(p),
            None => Err(ProtocolError::UnexpectedEof.into()),
        }
    }

    /// The next packet, owned, with its payload unchanged.
    pub async fn read_raw(&mut self) -> Result<Line, Error> {
        Ok(match self.read_packet().await? {
            Packet::Flush => Line::Flush,
            Packet::Delim => Line::Delim,
            Packet::ResponseEnd => Line::End,
            Packet::Data(d) => Line::Data(d.to_vec()),
        })
    }
}

impl<R: Input> PacketSource for PktReader<R> {
    async fn read_raw(&mut self) -> Result<Line, Error> {
        PktReader::read_raw(self).await
    }
}

/// Where the protocol layer reads packets from: a [`PktReader`] or a
/// transport session.
#[allow(async_fn_in_trait)]
pub trait PacketSource {
    /// The next packet, owned, payload unchanged; the end of the stream is
    /// an error.
    async fn read_raw(&mut self) -> Result<Line, Error>;

    /// The next packet as a text line: the trailing newline is removed and
    /// an `ERR <message>` line becomes [`ProtocolError::Remote`].
    async fn read_line(&mut self) -> Result<Line, Error> {
        text(self.read_raw().await?)
    }
}

impl<T: PacketSource + ?Sized> PacketSource for &mut T {
    async fn read_raw(&mut self) -> Result<Line, Error> {
        (**self).read_raw().await
    }
}

/// Makes a raw packet a text line (see [`PacketSource::read_line`]).
pub fn text(line: Line) -> Result<Line, Error> {
    match line {
        Line::Data(mut d) => {
            if d.last() == Some(&b'\n') {
                d.pop();
            }
            if let Some(msg) = d.strip_prefix(b"ERR ") {
                return Err(ProtocolError::Remote(crate::error::printable(msg)).into());
            }
            Ok(Line::Data(d))
        }
        other => Ok(other),
    }
}

/// An owned packet, as [`PacketSource`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `0000`.
    Flush,
    /// `0001`.
    Delim,
    /// `0002`.
    End,
    /// A data packet without its trailing newline.
    Data(Vec<u8>),
}

impl Line {
    /// The packet's name for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Line::Flush => "flush packet",
            Line::Delim => "delimiter packet",
            Line::End => "response-end packet",
            Line::Data(_) => "data packet",
        }
    }
}
