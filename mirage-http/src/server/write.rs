//! Serialising a response: status line, the fields the server owns
//! (`Date`, `Server`, framing, `Connection`), and the body with
//! `Content-Length`, `chunked`, or delimited by closing (HTTP/1.0).

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use mirage_core::{Clock, Region, SendRegionError, StackError, TcpFlow, timeout};

use super::Server;
use crate::request::Version;
use crate::response::{Body, BodyError, Response, reason};

/// Bodies up to this size are copied behind the head into one buffer;
/// larger ones go beside it in one vectored write, uncopied.
const COALESCE: usize = 1024;

/// The most bytes of a [`Body::Region`] sent within one send timeout: the
/// timeout bounds the wait between two writes (nginx `send_timeout`), not
/// the time a whole large file takes to reach a slow client.
const REGION_PIECE: u64 = 256 * 1024;

/// How writing a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// All sent; `keep_alive` says whether the connection may go on.
    Sent {
        /// Body bytes sent.
        body_bytes: u64,
        /// Whether the connection may serve another request.
        keep_alive: bool,
    },
    /// The write failed, timed out, or the body failed midway: the
    /// connection must be dropped.
    Aborted {
        /// Body bytes sent before the failure.
        body_bytes: u64,
    },
}

/// How the body is delimited on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// No body may follow (1xx, 204, 304).
    NoBody,
    Length(u64),
    Chunked,
    Close,
}

/// Writes `response`. `head_only` (a `HEAD` request) sends the head a `GET`
/// would have had and no body.
pub(crate) async fn write_response<H, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    flow: &mut F,
    clock: &C,
    response: Response<'_>,
    head_only: bool,
    version: Version,
    mut keep_alive: bool,
) -> Outcome {
    let Response {
        status,
        headers,
        body,
    } = response;
    let wire = match (status, body.len()) {
        (100..=199 | 204 | 304, _) => Wire::NoBody,
        (_, Some(n)) => Wire::Length(n),
        (_, None) if version == Version::Http11 => Wire::Chunked,
        (_, None) => Wire::Close,
    };
    if wire == Wire::Close && !head_only {
        keep_alive = false;
    }

    // Room for a typical head, and for a small body copied behind it.
    let small_body = match &body {
        Body::Full(b) if b.len() <= COALESCE => b.len(),
        _ => 0,
    };
    let mut head = BytesMut::with_capacity(384 + small_body);
    head.put_slice(b"HTTP/1.1 ");
    put_decimal(&mut head, u64::from(status));
    head.put_u8(b' ');
    head.put_slice(reason(status).as_bytes());
    head.put_slice(b"\r\n");
    server.dates.with(clock, |date| {
        head.put_slice(b"Date: ");
        head.put_slice(date.as_bytes());
        head.put_slice(b"\r\n");
    });
    if let Some(name) = &server.config.server_name {
        head.put_slice(b"Server: ");
        head.put_slice(name.as_bytes());
        head.put_slice(b"\r\n");
    }
    for (name, value) in headers.iter() {
        if matches!(
            name,
            "connection" | "content-length" | "transfer-encoding" | "date" | "server"
        ) {
            continue;
        }
        put_field(&mut head, name, value);
    }
    match wire {
        Wire::Length(n) => {
            head.put_slice(b"Content-Length: ");
            put_decimal(&mut head, n);
            head.put_slice(b"\r\n");
        }
        Wire::Chunked if !head_only => put_field(&mut head, "transfer-encoding", b"chunked"),
        _ => {}
    }
    if !keep_alive {
        head.put_slice(b"Connection: close\r\n");
    } else if version == Version::Http10 {
        head.put_slice(b"Connection: keep-alive\r\n");
    }
    head.put_slice(b"\r\n");

    let send_body = !head_only && wire != Wire::NoBody;
    let result: Result<u64, (SendError, u64)> = match body {
        Body::Full(b) if send_body && b.len() <= COALESCE => {
            head.put_slice(&b);
            send(server, flow, clock, &head)
                .await
                .map(|()| b.len() as u64)
                .map_err(|e| (e, 0))
        }
        Body::Full(b) if send_body => send_vectored(server, flow, clock, &[&head, &b])
            .await
            .map(|()| b.len() as u64)
            .map_err(|e| (e, 0)),
        Body::Region(r) if send_body => send_region(server, flow, clock, &head, &r).await,
        body => match send(server, flow, clock, &head).await {
            Err(e) => Err((e, 0)),
            Ok(()) if !send_body => Ok(0),
            Ok(()) => send_body_parts(server, flow, clock, body, wire).await,
        },
    };
    match result {
        Ok(body_bytes) => Outcome::Sent {
            body_bytes,
            keep_alive,
        },
        Err((e, body_bytes)) => {
            log::debug!("response aborted after {body_bytes} body bytes: {e}");
            Outcome::Aborted { body_bytes }
        }
    }
}

/// Why sending stopped.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("{0}")]
    Stack(#[from] StackError),
    #[error("the peer did not take the response in time")]
    Timeout,
    #[error("{0}")]
    Body(#[from] BodyError),
    #[error("{0}")]
    Region(SendRegionError),
}

/// Writes `Name: value\r\n`, the name in the usual capitalisation
/// (`content-type` as `Content-Type`); names are case-insensitive, but
/// people read them.
fn put_field(head: &mut BytesMut, name: &str, value: &[u8]) {
    let special: Option<&[u8]> = match name {
        "etag" => Some(b"ETag"),
        "www-authenticate" => Some(b"WWW-Authenticate"),
        "content-md5" => Some(b"Content-MD5"),
        _ => None,
    };
    if let Some(n) = special {
        head.put_slice(n);
        head.put_slice(b": ");
        head.put_slice(value);
        head.put_slice(b"\r\n");
        return;
    }
    let mut upper = true;
    for b in name.bytes() {
        head.put_u8(if upper { b.to_ascii_uppercase() } else { b });
        upper = b == b'-';
    }
    head.put_slice(b": ");
    head.put_slice(value);
    head.put_slice(b"\r\n");
}

/// Writes `n` in decimal.
fn put_decimal(head: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    head.put_slice(&digits[i..]);
}

/// Writes `bufs`, in order, within the send timeout.
async fn send_vectored<H, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    flow: &mut F,
    clock: &C,
    bufs: &[&[u8]],
) -> Result<(), SendError> {
    match timeout(
        clock,
        server.config.send_timeout,
        flow.write_all_vectored(bufs),
    )
    .await
    {
        Ok(r) => Ok(r?),
        Err(_) => Err(SendError::Timeout),
    }
}

/// Writes `head` and then `region`, in pieces of at most
/// [`REGION_PIECE`] bytes, each within the send timeout; returns the body
/// bytes sent, or the error and how far it got.
async fn send_region<H, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    flow: &mut F,
    clock: &C,
    head: &[u8],
    region: &Region,
) -> Result<u64, (SendError, u64)> {
    let len = region.len();
    let mut sent = 0u64;
    let mut head = head;
    loop {
        let piece = region.slice(sent, REGION_PIECE);
        let n = piece.len();
        match timeout(
            clock,
            server.config.send_timeout,
            flow.send_region(head, &piece),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let got = sent + e.sent();
                return Err((SendError::Region(e), got));
            }
            Err(_) => return Err((SendError::Timeout, sent)),
        }
        sent += n;
        head = &[];
        if sent >= len {
            return Ok(sent);
        }
    }
}

/// Writes `bytes` within the send timeout.
async fn send<H, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    flow: &mut F,
    clock: &C,
    bytes: &[u8],
) -> Result<(), SendError> {
    match timeout(clock, server.config.send_timeout, flow.write_all(bytes)).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(SendError::Timeout),
    }
}

/// Writes a body after its head; returns the body bytes sent, or the error
/// and how far it got.
async fn send_body_parts<H, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    flow: &mut F,
    clock: &C,
    body: Body<'_>,
    wire: Wire,
) -> Result<u64, (SendError, u64)> {
    let mut stream = match body {
        Body::Empty => return Ok(0),
        Body::Full(b) => {
            send(server, flow, clock, &b).await.map_err(|e| (e, 0))?;
            return Ok(b.len() as u64);
        }
        Body::Region(r) => return send_region(server, flow, clock, &[], &r).await,
        Body::Stream { stream, .. } => stream,
    };
    let mut sent = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk: Bytes = chunk.map_err(|e| (SendError::Body(e), sent))?;
        if chunk.is_empty() {
            continue;
        }
        match wire {
            Wire::Length(n) if sent + chunk.len() as u64 > n => {
                return Err((SendError::Body(BodyError::TooLong { expected: n }), sent));
            }
            Wire::Chunked => {
                let mut framed = BytesMut::with_capacity(chunk.len() + 20);
                framed.put_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                framed.put_slice(&chunk);
                framed.put_slice(b"\r\n");
                send(server, flow, clock, &framed)
                    .await
                    .map_err(|e| (e, sent))?;
            }
            _ => send(server, flow, clock, &chunk)
                .await
                .map_err(|e| (e, sent))?,
        }
        sent += chunk.len() as u64;
    }
    match wire {
        Wire::Length(n) if sent < n => Err((
            SendError::Body(BodyError::Truncated {
                got: sent,
                expected: n,
            }),
            sent,
        )),
        Wire::Chunked => {
            send(server, flow, clock, b"0\r\n\r\n")
                .await
                .map_err(|e| (e, sent))?;
            Ok(sent)
        }
        _ => Ok(sent),
    }
}
