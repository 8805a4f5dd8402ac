//! One connection: read a request, answer it, and repeat while the
//! connection persists. Requests are answered in the order they arrive, so
//! pipelined requests (several sent before the first answer) just work:
//! the bytes of the next request wait in the buffer.

use bytes::BytesMut;
use mirage_core::{Clock, Instant, PosixTime, TcpFlow, timeout, timeout_at};

use super::Server;
use super::write::{Outcome, write_response};
use crate::error::Error;
use crate::handler::Handler;
use crate::log::{AccessEntry, access};
use crate::parse::{Progress, RequestParser};
use crate::request::{Method, Request, Version};
use crate::response::Response;

/// Bytes asked of the flow per read.
const READ_SIZE: usize = 16 * 1024;

/// The first reads' size: enough for a typical request head, small enough
/// that thousands of idle connections cost little.
const FIRST_READ_SIZE: usize = 1024;

/// What waiting for the next request gave.
enum Incoming {
    Request(Request, PosixTime),
    /// The peer closed, the flow failed, or the connection sat idle too long.
    Gone,
    /// The request head did not arrive in time.
    HeadTimeout(PosixTime),
    /// The request is malformed or too large.
    Refused(Error, PosixTime),
}

/// Serves `flow` until it closes, fails, times out or asks to close.
pub(crate) async fn serve<H: Handler, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    mut flow: F,
    clock: &C,
) {
    let config = &server.config;
    let peer = flow.peer_addr();
    let mut parser = RequestParser::new(config.limits);
    let mut buf = BytesMut::new();
    // Reads land here and are appended to `buf`: zeroed when it grows, not
    // once per read. It starts small, so that an idle connection costs
    // little memory, and grows to READ_SIZE once a read fills it.
    let mut scratch = vec![0u8; FIRST_READ_SIZE];
    let mut served = 0usize;
    loop {
        let incoming = next_request(
            server,
            &mut flow,
            &mut parser,
            &mut buf,
            &mut scratch,
            clock,
        )
        .await;
        let (req, time) = match incoming {
            Incoming::Request(req, time) => (req, time),
            Incoming::Gone => return,
            Incoming::HeadTimeout(time) => {
                finish_with_error(server, flow, clock, 408, time).await;
                return;
            }
            Incoming::Refused(e, time) => {
                log::debug!("{peer}: refused request: {e}");
                finish_with_error(server, flow, clock, e.status(), time).await;
                return;
            }
        };
        served += 1;
        // Formatted only when the access log is on.
        let request_line = if log::log_enabled!(target: crate::log::TARGET, log::Level::Info) {
            format!("{} {} {}", req.method, req.target, req.version.as_str())
        } else {
            String::new()
        };
        let head_only = req.method == Method::Head;
        let version = req.version;
        let keep_alive = req.keep_alive() && served < config.max_requests_per_connection;
        let response = server.handler.handle(req).await;
        let keep_alive = keep_alive && !response.headers.has_token("connection", "close");
        let status = response.status;
        let outcome = write_response(
            server, &mut flow, clock, response, head_only, version, keep_alive,
        )
        .await;
        let (bytes, keep) = match outcome {
            Outcome::Sent {
                body_bytes,
                keep_alive,
            } => (body_bytes, keep_alive),
            Outcome::Aborted { body_bytes } => (body_bytes, false),
        };
        access(&AccessEntry {
            peer,
            time,
            request_line: &request_line,
            status,
            bytes,
        });
        if matches!(outcome, Outcome::Aborted { .. }) {
            return;
        }
        if !keep {
            linger_close(server, flow, clock).await;
            return;
        }
    }
}

/// Reads until the parser yields a request, enforcing the idle, head and
/// body timeouts and answering `Expect: 100-continue`.
async fn next_request<H, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    flow: &mut F,
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    scratch: &mut Vec<u8>,
    clock: &C,
) -> Incoming {
    let config = &server.config;
    let idle_deadline = clock.now() + config.idle_timeout;
    let mut head_deadline: Option<Instant> = None;
    let mut arrival = clock.now_posix();
    let mut in_body = false;
    loop {
        if head_deadline.is_none() && !buf.is_empty() {
            head_deadline = Some(clock.now() + config.header_timeout);
            arrival = clock.now_posix();
        }
        match parser.advance(buf) {
            Ok(Progress::Request(req)) => return Incoming::Request(req, arrival),
            Ok(Progress::AwaitingBody { expects_continue }) => {
                in_body = true;
                if expects_continue {
                    let sent = timeout(
                        clock,
                        config.send_timeout,
                        flow.write_all(b"HTTP/1.1 100 Continue\r\n\r\n"),
                    )
                    .await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return Incoming::Gone;
                    }
                }
                continue;
            }
            Ok(Progress::NeedMore) => {}
            Err(e) => return Incoming::Refused(e, arrival),
        }
        let deadline = if in_body {
            clock.now() + config.body_timeout
        } else {
            head_deadline.unwrap_or(idle_deadline)
        };
        let read = timeout_at(clock, deadline, flow.read(scratch)).await;
        if let Ok(Ok(n)) = &read {
            buf.extend_from_slice(&scratch[..*n]);
            if *n == scratch.len() && scratch.len() < READ_SIZE {
                scratch.resize(READ_SIZE, 0);
            }
        }
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return Incoming::Gone,
            Ok(Ok(_)) => {}
            Err(_) if head_deadline.is_some() && !in_body => {
                return Incoming::HeadTimeout(arrival);
            }
            Err(_) => return Incoming::Gone,
        }
    }
}

/// Sends an error response with `Connection: close`, logs it and closes.
async fn finish_with_error<H: Handler, F: TcpFlow, C: Clock>(
    server: &Server<H>,
    mut flow: F,
    clock: &C,
    status: u16,
    time: PosixTime,
) {
    let peer = flow.peer_addr();
    let outcome = write_response(
        server,
        &mut flow,
        clock,
        Response::error(status),
        false,
        Version::Http11,
        false,
    )
    .await;
    let bytes = match outcome {
        Outcome::Sent { body_bytes, .. } | Outcome::Aborted { body_bytes } => body_bytes,
    };
    access(&AccessEntry {
        peer,
        time,
        request_line: "-",
        status,
        bytes,
    });
    if matches!(outcome, Outcome::Sent { .. }) {
        linger_close(server, flow, clock).await;
    }
}

/// Finishes sending, then reads and discards until the peer closes or the
/// linger time is over, so unread bytes do not turn our close into a reset
/// that could destroy the response in flight.
async fn linger_close<H, F: TcpFlow, C: Clock>(server: &Server<H>, mut flow: F, clock: &C) {
    let config = &server.config;
    if !matches!(
        timeout(clock, config.send_timeout, flow.flush()).await,
        Ok(Ok(()))
    ) {
        return;
    }
    if flow.shutdown().await.is_err() {
        return;
    }
    let deadline = clock.now() + config.linger_timeout;
    let mut scratch = vec![0u8; 4096];
    while let Ok(Ok(n)) = timeout_at(clock, deadline, flow.read(&mut scratch)).await {
        if n == 0 {
            break;
        }
    }
}
