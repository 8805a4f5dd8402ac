//! Reaching a remote's `git-upload-pack` or `git-receive-pack`.
//!
//! - `git://`: one TCP connection to the git daemon; the first packet names
//!   the service, path and host (and `version=2` for fetches); then the
//!   service talks on the same connection.
//! - `http://`: smart HTTP. The advertisement comes from
//!   `GET <repo>/info/refs?service=<service>`, each request is a
//!   `POST <repo>/<service>` on a new connection (the protocol is stateless
//!   over HTTP), with `Git-Protocol: version=2` for fetches.
//! - `file://` (feature `std`): the local `git upload-pack` or
//!   `git receive-pack` run as a child process, talked to through blocking
//!   pipes. A unikernel has no processes and no file system to read a
//!   repository from, so this is for hosts; the other transports go through
//!   the [`Stack`] only.

pub mod http;
pub mod idle;
#[cfg(feature = "std")]
pub mod process;

use mirage_core::{Stack, TcpFlow};

#[cfg(not(feature = "std"))]
use crate::error::UrlError;
use crate::error::{Error, HttpError, ProtocolError, TransportError};
use crate::io::{FlowIo, Input, Output};
use crate::pktline::{self, PacketSource, PktReader};
use crate::url::Url;

/// The remote service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `git-upload-pack`: fetch.
    UploadPack,
    /// `git-receive-pack`: push.
    ReceivePack,
}

impl Service {
    /// The service's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }
}

/// Any of the byte streams a session reads from and writes to.
#[derive(Debug)]
pub enum AnyIo<F> {
    /// A TCP connection (git daemon).
    Flow(FlowIo<F>),
    /// An HTTP response body.
    Http(http::HttpBody<F>),
    /// A local process's pipes.
    #[cfg(feature = "std")]
    Process(process::ProcessIo),
}

impl<F: TcpFlow> Input for AnyIo<F> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        match self {
            AnyIo::Flow(f) => f.read(buf).await,
            AnyIo::Http(b) => b.read(buf).await,
            #[cfg(feature = "std")]
            AnyIo::Process(p) => p.read(buf).await,
        }
    }
}

impl<F: TcpFlow> Output for AnyIo<F> {
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        match self {
            AnyIo::Flow(f) => f.write_all(buf).await,
            AnyIo::Http(_) => Err(TransportError::Stack(mirage_core::StackError::Closed)),
            #[cfg(feature = "std")]
            AnyIo::Process(p) => p.write_all(buf).await,
        }
    }
    async fn flush(&mut self) -> Result<(), TransportError> {
        match self {
            AnyIo::Flow(f) => f.flush().await,
            AnyIo::Http(_) => Ok(()),
            #[cfg(feature = "std")]
            AnyIo::Process(p) => p.flush().await,
        }
    }
}

/// A conversation with one remote service.
pub struct Session<'s, S: Stack> {
    stack: &'s S,
    url: Url,
    service: Service,
    v2: bool,
    /// The stream (git://, file://) or the last HTTP response.
    reader: PktReader<AnyIo<S::TcpFlow>>,
    /// A line read ahead while looking for the HTTP preamble.
    pushed_back: Option<pktline::Line>,
}

impl<S: Stack> core::fmt::Debug for Session<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.url)
            .field("service", &self.service)
            .finish()
    }
}

impl<'s, S: Stack> Session<'s, S> {
    /// Connects to `service` at `url`, asking for protocol v2 if `v2`; the
    /// server's advertisement is then read through [`PacketSource`] (for
    /// HTTP, after the `# service=` preamble, which is skipped).
    pub async fn connect(
        stack: &'s S,
        url: &Url,
        service: Service,
        v2: bool,
    ) -> Result<Self, Error> {
        let io = match url {
            Url::Git { addr, host, path } => {
                let flow = stack.tcp_connect(*addr).await?;
                let mut io = FlowIo(flow);
                let mut line = Vec::new();
                line.extend_from_slice(service.name().as_bytes());
                line.push(b' ');
                line.extend_from_slice(path.as_bytes());
                line.push(0);
                line.extend_from_slice(b"host=");
                line.extend_from_slice(host.as_bytes());
                line.push(0);
                if v2 {
                    line.extend_from_slice(b"\0version=2\0");
                }
                let mut out = Vec::new();
                pktline::encode_data(&line, &mut out)?;
                io.write_all(&out).await?;
                io.flush().await?;
                AnyIo::Flow(io)
            }
            Url::Http { addr, host, path } => {
                let target = format!(
                    "{}/info/refs?service={}",
                    path.trim_end_matches('/'),
                    service.name()
                );
                let headers: &[(&str, &str)] = if v2 {
                    &[("Git-Protocol", "version=2")]
                } else {
                    &[]
                };
                let request = http::Request {
                    method: "GET",
                    path: &target,
                    host,
                    headers,
                    body: &[],
                };
                let (head, body) = http::send(stack, *addr, &request).await?;
                check_head(
                    &head,
                    &target,
                    &format!("application/x-{}-advertisement", service.name()),
                )?;
                AnyIo::Http(body)
            }
            #[cfg(feature = "std")]
            Url::File { path } => AnyIo::Process(process::ProcessIo::spawn(service, path, v2)?),
            #[cfg(not(feature = "std"))]
            Url::File { .. } => return Err(UrlError::FileNeedsStd.into()),
        };
        let mut session = Session {
            stack,
            url: url.clone(),
            service,
            v2,
            reader: PktReader::new(io),
            pushed_back: None,
        };
        if matches!(url, Url::Http { .. }) {
            session.skip_service_preamble().await?;
        }
        Ok(session)
    }

    /// Over HTTP a v0 advertisement starts with `# service=<name>` and a
    /// flush; a v2 one does not.
    async fn skip_service_preamble(&mut self) -> Result<(), Error> {
        match self.reader.read_raw().await? {
            pktline::Line::Data(d) if d.starts_with(b"# service=") => {
                match self.reader.read_raw().await? {
                    pktline::Line::Flush => Ok(()),
                    other => Err(ProtocolError::UnexpectedPacket {
                        what: other.name(),
                        context: "HTTP service preamble",
                    }
                    .into()),
                }
            }
            other => {
                self.pushed_back = Some(other);
                Ok(())
            }
        }
    }

    /// The service this session talks to.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Whether the session is stateless (HTTP): every request must carry
    /// all the state the server needs.
    pub fn is_stateless(&self) -> bool {
        matches!(self.url, Url::Http { .. })
    }

    /// Ends the conversation politely: on a stream, a flush tells the
    /// server no further command follows. Errors are ignored (the work is
    /// done).
    pub async fn finish(mut self) {
        if !self.is_stateless() {
            let io = self.reader.get_mut();
            let _ = io.write_all(b"0000").await;
            let _ = io.flush().await;
        }
    }

    /// Sends a request (already pkt-line encoded); its response is then
    /// read through [`PacketSource`].
    pub async fn send(&mut self, request: &[u8]) -> Result<(), Error> {
        self.pushed_back = None;
        match &self.url {
            Url::Http { addr, host, path } => {
                let target = format!("{}/{}", path.trim_end_matches('/'), self.service.name());
                let content_type = format!("application/x-{}-request", self.service.name());
                let accept = format!("application/x-{}-result", self.service.name());
                let mut headers = vec![
                    ("Content-Type", content_type.as_str()),
                    ("Accept", accept.as_str()),
                ];
                if self.v2 {
                    headers.push(("Git-Protocol", "version=2"));
                }
                let req = http::Request {
                    method: "POST",
                    path: &target,
                    host,
                    headers: &headers,
                    body: request,
                };
                let (head, body) = http::send(self.stack, *addr, &req).await?;
                check_head(&head, &target, &accept)?;
                self.reader = PktReader::new(AnyIo::Http(body));
            }
            _ => {
                let io = self.reader.get_mut();
                io.write_all(request).await?;
                io.flush().await?;
            }
        }
        Ok(())
    }
}

impl<S: Stack> PacketSource for Session<'_, S> {
    async fn read_raw(&mut self) -> Result<pktline::Line, Error> {
        match self.pushed_back.take() {
            Some(line) => Ok(line),
            None => self.reader.read_raw().await,
        }
    }
}

/// Checks an HTTP response's status and content type.
fn check_head(head: &http::ResponseHead, path: &str, content_type: &str) -> Result<(), Error> {
    if head.status != 200 {
        return Err(HttpError::Status {
            status: head.status,
            path: path.to_string(),
        }
        .into());
    }
    match &head.content_type {
        Some(ct) if ct.split(';').next().unwrap_or_default().trim() == content_type => Ok(()),
        other => Err(HttpError::ContentType(other.clone().unwrap_or_default()).into()),
    }
}
