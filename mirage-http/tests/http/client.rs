//! A small HTTP/1.1 client for tests: raw bytes out, parsed responses in.

#![allow(dead_code)]

use core::future::Future;
use core::pin::pin;
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};

use futures::future::{Either, select};
use mirage_core::TcpFlow;
use mirage_core::mem::{MemInternet, MemStack, Simulation, VirtualClock};
use mirage_http::{Body, Config, Handler, Request, Response, Server};

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads responses from a flow, keeping bytes that belong to the next one.
pub struct Reader {
    buf: Vec<u8>,
    eof: bool,
}

impl Reader {
    pub fn new() -> Self {
        Reader {
            buf: Vec::new(),
            eof: false,
        }
    }

    async fn fill<F: TcpFlow>(&mut self, flow: &mut F) -> bool {
        let mut chunk = [0u8; 4096];
        match flow.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    async fn line<F: TcpFlow>(&mut self, flow: &mut F) -> Option<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.buf[..i].to_vec()).unwrap();
                self.buf.drain(..i + 2);
                return Some(line);
            }
            if !self.fill(flow).await {
                return None;
            }
        }
    }

    async fn exact<F: TcpFlow>(&mut self, flow: &mut F, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill(flow).await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// The next response; `head_only` for the answer to a HEAD. `None` at EOF.
    pub async fn response<F: TcpFlow>(&mut self, flow: &mut F, head_only: bool) -> Option<Resp> {
        let status_line = self.line(flow).await?;
        let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let mut headers = Vec::new();
        loop {
            let line = self.line(flow).await?;
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').expect("header line");
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 304 || status == 204 || status < 200 {
            return Some(resp);
        }
        if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().unwrap();
            resp.body = self.exact(flow, len).await?;
        } else if resp.header("transfer-encoding") == Some("chunked") {
            loop {
                let size = usize::from_str_radix(&self.line(flow).await?, 16).unwrap();
                if size == 0 {
                    assert_eq!(self.line(flow).await?, "");
                    break;
                }
                let data = self.exact(flow, size).await?;
                resp.body.extend(data);
                assert_eq!(self.line(flow).await?, "");
            }
        } else {
            while self.fill(flow).await {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Some(resp)
    }

    /// Whether the peer closed (reads until EOF, failing on extra bytes).
    pub async fn closed<F: TcpFlow>(&mut self, flow: &mut F) -> bool {
        while self.fill(flow).await {}
        self.eof && self.buf.is_empty()
    }
}

/// Sends `bytes` and reads one response.
pub async fn exchange<F: TcpFlow>(flow: &mut F, bytes: &[u8]) -> Resp {
    flow.write_all(bytes).await.unwrap();
    let head_only = bytes.starts_with(b"HEAD ");
    Reader::new()
        .response(flow, head_only)
        .await
        .expect("a response")
}

pub const SERVER: &str = "10.0.0.1:80";

pub fn server_addr() -> SocketAddr {
    SERVER.parse().unwrap()
}

thread_local! {
    /// Access-log lines written on this thread.
    pub static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

struct TestLogger;

impl log::Log for TestLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target() == mirage_http::log::TARGET {
            LOG.with(|l| l.borrow_mut().push(record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static LOGGER: TestLogger = TestLogger;

/// Routes the access log of this thread into [`LOG`].
pub fn capture_log() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
    LOG.with(|l| l.borrow_mut().clear());
}

/// Answers with the request's body; the method, target and trailers in fields.
pub struct Echo;

impl Handler for Echo {
    async fn handle(&self, req: Request) -> Response<'_> {
        let trailers: Vec<String> = req
            .trailers
            .iter()
            .map(|(n, v)| format!("{n}={}", String::from_utf8_lossy(v)))
            .collect();
        Response::new(200)
            .with_header("x-method", req.method.to_string())
            .with_header("x-target", req.target.clone())
            .with_header("x-trailers", trailers.join(","))
            .with_body(Body::Full(req.body.clone()))
    }
}

/// Runs `server` with `client` against it on an in-memory internet; the
/// test ends when the client does.
pub fn run<H, T, Fut>(
    handler: H,
    config: Config,
    client: impl FnOnce(MemStack, VirtualClock) -> Fut,
) -> T
where
    H: Handler,
    Fut: Future<Output = T>,
{
    let mut sim = Simulation::new(7);
    let clock = sim.clock();
    let internet = MemInternet::new();
    let server_host = internet.host(["10.0.0.1".parse::<IpAddr>().unwrap()]);
    let client_host = internet.host(["10.0.0.2".parse::<IpAddr>().unwrap()]);
    let server = Server::with_config(handler, config);
    sim.block_on(async {
        let serve = server.serve(&server_host, server_addr(), &clock);
        match select(pin!(serve), pin!(client(client_host, clock.clone()))).await {
            Either::Right((t, _)) => t,
            Either::Left((r, _)) => panic!("server stopped: {r:?}"),
        }
    })
    .expect("simulation stalled")
}
