//! The HTTP/1.1 server, generic over the mirage-core [`Stack`].
//!
//! One future serves a listener: it accepts connections and drives each one
//! as a future inside a `FuturesUnordered`, so no spawner is needed and
//! everything runs on the caller's single thread. Every wait (idle
//! keep-alive, slow headers, slow bodies, slow readers) is bounded through
//! the [`Time`] signature, so the server runs the same in virtual time.
//!
//! - [`config`]: limits and timeouts.
//! - [`connection`](mod@connection): one connection: read, handle, write, repeat.
//! - [`write`](mod@write): serialising a response (framing, `Date`, `Connection`).

pub mod config;
pub mod connection;
pub mod date_cache;
pub mod write;

pub use config::Config;

use core::cell::Cell;
use core::future::{Future, poll_fn};
use core::net::SocketAddr;
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use mirage_core::{Clock, Stack, StackError, TcpFlow, TcpListener, Time, timeout};

use crate::handler::Handler;
use date_cache::DateCache;

/// Answer to connections beyond [`Config::max_connections`].
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// An HTTP/1.1 server: a [`Handler`] and its [`Config`].
#[derive(Debug)]
pub struct Server<H> {
    config: Config,
    handler: H,
    dates: DateCache,
    active: Cell<usize>,
}

impl<H: Handler> Server<H> {
    /// A server with the default [`Config`].
    pub fn new(handler: H) -> Self {
        Server::with_config(handler, Config::default())
    }

    /// A server with `config`.
    pub fn with_config(handler: H, config: Config) -> Self {
        Server {
            config,
            handler,
            dates: DateCache::new(),
            active: Cell::new(0),
        }
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Connections being served right now.
    pub fn active_connections(&self) -> usize {
        self.active.get()
    }

    /// Listens on `addr` and serves until the listener fails for good.
    pub async fn serve<S: Stack, C: Clock>(
        &self,
        stack: &S,
        addr: SocketAddr,
        clock: &C,
    ) -> Result<(), StackError> {
        let listener = stack.tcp_listen(addr).await?;
        self.serve_listener(&listener, clock).await
    }

    /// Serves connections from `listener`. Returns only when the listener
    /// is closed ([`StackError::Closed`]); other accept errors (out of
    /// sockets, a reset before accept) are logged and retried after a
    /// short pause, while established connections go on being served.
    pub async fn serve_listener<L: TcpListener, C: Clock>(
        &self,
        listener: &L,
        clock: &C,
    ) -> Result<(), StackError> {
        let mut conns: FuturesUnordered<LocalBoxFuture<'_, ()>> = FuturesUnordered::new();
        let mut accept = pin!(listener.accept());
        loop {
            let accepted = drive(&mut conns, accept.as_mut()).await;
            accept.set(listener.accept());
            match accepted {
                Ok(flow) => {
                    if self.active.get() < self.config.max_connections {
                        self.active.set(self.active.get() + 1);
                        conns.push(Box::pin(async move {
                            connection::serve(self, flow, clock).await;
                            self.active.set(self.active.get() - 1);
                        }));
                    } else if conns.len() < 2 * self.config.max_connections {
                        log::warn!(
                            "refusing connection from {}: {} connections open",
                            flow.peer_addr(),
                            self.active.get()
                        );
                        conns.push(Box::pin(refuse(flow, clock)));
                    } else {
                        // Not even room to say so: drop (reset) it.
                        drop(flow);
                    }
                }
                Err(StackError::Closed) => return Err(StackError::Closed),
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    drive(&mut conns, pin!(clock.sleep(Duration::from_millis(100)))).await;
                }
            }
        }
    }
}

/// Polls every connection while waiting for `fut`.
async fn drive<F: Future>(
    conns: &mut FuturesUnordered<LocalBoxFuture<'_, ()>>,
    mut fut: core::pin::Pin<&mut F>,
) -> F::Output {
    poll_fn(|cx| {
        while let Poll::Ready(Some(())) = conns.poll_next_unpin(cx) {}
        fut.as_mut().poll(cx)
    })
    .await
}

/// Answers 503 and closes, giving the client one second to take it.
async fn refuse<F: TcpFlow, C: Time>(mut flow: F, clock: &C) {
    let _ = timeout(clock, Duration::from_secs(1), async {
        flow.write_all(BUSY).await?;
        flow.close().await
    })
    .await;
}
