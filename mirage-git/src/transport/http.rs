//! A minimal HTTP/1.1 client over a [`Stack`], enough for Git's smart HTTP
//! protocol (gitprotocol-http): one request per connection
//! (`Connection: close`), responses framed by `Content-Length`, chunked
//! transfer encoding, or the end of the connection. No redirects, no
//! authentication, no TLS.

use core::net::SocketAddr;

use mirage_core::{Stack, TcpFlow};

use crate::error::{Error, HttpError, TransportError};
use crate::io::Input;

/// The largest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 1024;

/// A response's status and the headers the Git client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// `Content-Type`, if given.
    pub content_type: Option<String>,
    /// `Content-Length`, if given.
    pub content_length: Option<u64>,
    /// Whether `Transfer-Encoding: chunked` was given.
    pub chunked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    /// Chunked: bytes left in the current chunk; `None` before a size line.
    Chunked(Option<u64>),
    Eof,
    Done,
}

/// A response body as an [`Input`], reading from the connection as needed.
#[derive(Debug)]
pub struct HttpBody<F> {
    flow: F,
    pending: Vec<u8>,
    pos: usize,
    framing: Framing,
}

impl<F: TcpFlow> HttpBody<F> {
    /// Reads raw connection bytes, buffered ones first.
    async fn raw(&mut self, out: &mut [u8]) -> Result<usize, TransportError> {
        if self.pos < self.pending.len() {
            let n = out.len().min(self.pending.len() - self.pos);
            out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        Ok(self.flow.read(out).await?)
    }

    /// Reads a CRLF-terminated line (without the CRLF), bounded.
    async fn line(&mut self) -> Result<Vec<u8>, TransportError> {
        let mut line = Vec::new();
        let mut b = [0u8];
        loop {
            if self.raw(&mut b).await? == 0 {
                return Err(HttpError::TruncatedBody.into());
            }
            if b[0] == b'\n' {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if line.len() >= MAX_CHUNK_LINE {
                return Err(HttpError::BadChunk.into());
            }
            line.push(b[0]);
        }
    }
}

impl<F: TcpFlow> Input for HttpBody<F> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.framing {
                Framing::Done => return Ok(0),
                Framing::Eof => return self.raw(buf).await,
                Framing::Length(0) => {
                    self.framing = Framing::Done;
                    return Ok(0);
                }
                Framing::Length(left) => {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.raw(&mut buf[..want]).await?;
                    if n == 0 {
                        return Err(HttpError::TruncatedBody.into());
                    }
                    self.framing = Framing::Length(left - n as u64);
                    return Ok(n);
                }
                Framing::Chunked(None) => {
                    let line = self.line().await?;
                    let size = line.split(|&b| b == b';').next().unwrap_or_default();
                    let size = core::str::from_utf8(size)
                        .ok()
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && s.len() <= 15)
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                        .ok_or(HttpError::BadChunk)?;
                    if size == 0 {
                        // Trailers, then the empty line.
                        loop {
                            let l = self.line().await?;
                            if l.is_empty() {
                                break;
                            }
                        }
                        self.framing = Framing::Done;
                        return Ok(0);
                    }
                    self.framing = Framing::Chunked(Some(size));
                }
                Framing::Chunked(Some(0)) => {
                    if !self.line().await?.is_empty() {
                        return Err(HttpError::BadChunk.into());
                    }
                    self.framing = Framing::Chunked(None);
                }
                Framing::Chunked(Some(left)) => {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.raw(&mut buf[..want]).await?;
                    if n == 0 {
                        return Err(HttpError::TruncatedBody.into());
                    }
                    self.framing = Framing::Chunked(Some(left - n as u64));
                    return Ok(n);
                }
            }
        }
    }
}

/// Parses a response head (status line and headers, without the final
/// empty line).
pub fn parse_head(head: &[u8]) -> Result<ResponseHead, HttpError> {
    let text = core::str::from_utf8(head).map_err(|_| HttpError::MalformedHead)?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or(HttpError::MalformedHead)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HttpError::MalformedHead);
    }
    let status = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(HttpError::MalformedHead)?;
    let mut out = ResponseHead {
        status,
        content_type: None,
        content_length: None,
        chunked: false,
    };
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(HttpError::MalformedHead)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            out.content_type = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-length") {
            let len = value.parse().map_err(|_| HttpError::MalformedHead)?;
            if out.content_length.is_some_and(|l| l != len) {
                return Err(HttpError::MalformedHead);
            }
            out.content_length = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or_default().trim();
            if last.eq_ignore_ascii_case("chunked") {
                out.chunked = true;
            } else {
                return Err(HttpError::MalformedHead);
            }
        }
    }
    Ok(out)
}

/// A request to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The path and query.
    pub path: &'a str,
    /// The `Host:` value.
    pub host: &'a str,
    /// Further headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (sent with `Content-Length`; empty for GET).
    pub body: &'a [u8],
}

/// Sends `request` to `addr` on a new connection and reads the response
/// head; the body is read through the returned [`HttpBody`].
pub async fn send<S: Stack>(
    stack: &S,
    addr: SocketAddr,
    request: &Request<'_>,
) -> Result<(ResponseHead, HttpBody<S::TcpFlow>), Error> {
    let mut flow = stack.tcp_connect(addr).await?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: {}\r\n",
        request.method,
        request.path,
        request.host,
        crate::AGENT
    );
    for (name, value) in request.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if request.method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    head.push_str("\r\n");
    flow.write_all(head.as_bytes()).await?;
    flow.write_all(request.body).await?;
    flow.flush().await?;

    // Read until the end of the head.
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLarge(MAX_HEAD).into());
        }
        let n = flow.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::MalformedHead.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(HttpError::HeadTooLarge(MAX_HEAD).into());
    }
    let head = parse_head(&buf[..head_end])?;
    let framing = if head.chunked {
        Framing::Chunked(None)
    } else if let Some(len) = head.content_length {
        Framing::Length(len)
    } else {
        Framing::Eof
    };
    let body = HttpBody {
        flow,
        pending: buf,
        pos: head_end + 4,
        framing,
    };
    Ok((head, body))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_head() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\nTransfer-Encoding: chunked").unwrap();
        assert_eq!(h.status, 200);
        assert!(h.chunked);
        assert_eq!(
            h.content_type.as_deref(),
            Some("application/x-git-upload-pack-advertisement")
        );
        let h = parse_head(b"HTTP/1.0 404 Not Found\r\nContent-Length: 12").unwrap();
        assert_eq!((h.status, h.content_length), (404, Some(12)));
        assert_eq!(parse_head(b"HTTP/2 200"), Err(HttpError::MalformedHead));
        assert_eq!(parse_head(b"HTTP/1.1 20 OK"), Err(HttpError::MalformedHead));
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nbad"),
            Err(HttpError::MalformedHead)
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"),
            Err(HttpError::MalformedHead)
        );
    }
}
