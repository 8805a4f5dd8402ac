//! [`IdleTimeout`]: any [`Stack`] whose TCP connects, reads and writes
//! fail with [`StackError::TimedOut`] after a period without progress.
//!
//! A clone may rightly take minutes, so a deadline for the whole operation
//! (`mirage_core::timeout`) must be generous; a peer that stops answering
//! is better caught by bounding each wait. Wrapping the stack does that for
//! every transport (`git://` and HTTP) without the protocol code knowing:
//!
//! ```
//! use core::time::Duration;
//! use mirage_core::mem::{MemInternet, Simulation};
//! use mirage_git::transport::idle::IdleTimeout;
//! use mirage_git::{Client, MemStore, Url};
//!
//! let sim = Simulation::new(1);
//! let host = MemInternet::new().host(["10.0.0.1".parse().unwrap()]);
//! let stack = IdleTimeout::new(host, sim.clock(), Duration::from_secs(30));
//! let client = Client::new(&stack);
//! # let _ = (client, MemStore::new(), Url::parse("git://10.0.0.2/r.git"));
//! ```

use core::net::SocketAddr;
use core::time::Duration;

use mirage_core::{
    Region, SendRegionError, Stack, StackError, TcpFlow, TcpListener, Time, timeout,
};

/// The most [`IdleFlow::send_region`] hands the inner flow at once.
pub const REGION_PIECE: u64 = 256 * 1024;

/// A [`Stack`] whose TCP operations time out after `idle` without progress.
#[derive(Debug, Clone)]
pub struct IdleTimeout<S, T> {
    stack: S,
    time: T,
    idle: Duration,
}

impl<S, T> IdleTimeout<S, T> {
    /// Wraps `stack`; `time` provides the timers.
    pub fn new(stack: S, time: T, idle: Duration) -> Self {
        IdleTimeout { stack, time, idle }
    }
}

/// A TCP connection of an [`IdleTimeout`] stack.
#[derive(Debug)]
pub struct IdleFlow<F, T> {
    flow: F,
    time: T,
    idle: Duration,
}

/// A listener of an [`IdleTimeout`] stack (accepting waits without limit;
/// the flows it yields time out).
#[derive(Debug)]
pub struct IdleListener<L, T> {
    listener: L,
    time: T,
    idle: Duration,
}

impl<F: TcpFlow, T: Time> TcpFlow for IdleFlow<F, T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StackError> {
        timeout(&self.time, self.idle, self.flow.read(buf))
            .await
            .unwrap_or(Err(StackError::TimedOut))
    }

    async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError> {
        timeout(&self.time, self.idle, self.flow.write(buf))
            .await
            .unwrap_or(Err(StackError::TimedOut))
    }

    async fn write_all_vectored(&mut self, bufs: &[&[u8]]) -> Result<(), StackError> {
        timeout(&self.time, self.idle, self.flow.write_all_vectored(bufs))
            .await
            .unwrap_or(Err(StackError::TimedOut))
    }

    /// Passes regions to the inner flow (which may send them without
    /// copying), in pieces of [`REGION_PIECE`] bytes, each within the idle
    /// timeout: a large body is not cut off for its size, a stalled peer is.
    async fn send_region(&mut self, head: &[u8], region: &Region) -> Result<(), SendRegionError> {
        let mut sent = 0u64;
        let mut head = head;
        loop {
            let piece = region.slice(sent, REGION_PIECE.min(region.len() - sent));
            let result = timeout(&self.time, self.idle, self.flow.send_region(head, &piece)).await;
            let base = sent;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(counted_from(e, base, region.len())),
                Err(_) => {
                    return Err(SendRegionError::Send {
                        sent: base,
                        source: StackError::TimedOut,
                    });
                }
            }
            sent += piece.len();
            head = &[];
            if sent >= region.len() {
                return Ok(());
            }
        }
    }

    async fn flush(&mut self) -> Result<(), StackError> {
        timeout(&self.time, self.idle, self.flow.flush())
            .await
            .unwrap_or(Err(StackError::TimedOut))
    }

    async fn shutdown(&mut self) -> Result<(), StackError> {
        timeout(&self.time, self.idle, self.flow.shutdown())
            .await
            .unwrap_or(Err(StackError::TimedOut))
    }

    fn peer_addr(&self) -> SocketAddr {
        self.flow.peer_addr()
    }

    fn local_addr(&self) -> SocketAddr {
        self.flow.local_addr()
    }
}

impl<L: TcpListener, T: Time + Clone> TcpListener for IdleListener<L, T> {
    type Flow = IdleFlow<L::Flow, T>;

    async fn accept(&self) -> Result<Self::Flow, StackError> {
        let flow = self.listener.accept().await?;
        Ok(IdleFlow {
            flow,
            time: self.time.clone(),
            idle: self.idle,
        })
    }

    fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr()
    }
}

impl<S: Stack, T: Time + Clone> Stack for IdleTimeout<S, T> {
    type TcpFlow = IdleFlow<S::TcpFlow, T>;
    type TcpListener = IdleListener<S::TcpListener, T>;
    type UdpSocket = S::UdpSocket;

    async fn tcp_listen(&self, addr: SocketAddr) -> Result<Self::TcpListener, StackError> {
        let listener = self.stack.tcp_listen(addr).await?;
        Ok(IdleListener {
            listener,
            time: self.time.clone(),
            idle: self.idle,
        })
    }

    async fn tcp_connect(&self, addr: SocketAddr) -> Result<Self::TcpFlow, StackError> {
        let flow = timeout(&self.time, self.idle, self.stack.tcp_connect(addr))
            .await
            .unwrap_or(Err(StackError::TimedOut))?;
        Ok(IdleFlow {
            flow,
            time: self.time.clone(),
            idle: self.idle,
        })
    }

    async fn udp_bind(&self, addr: SocketAddr) -> Result<Self::UdpSocket, StackError> {
        self.stack.udp_bind(addr).await
    }
}

/// A piece's send error, with its byte counts made relative to the whole
/// region (the piece started `base` bytes in; the region is `len` long).
fn counted_from(e: SendRegionError, base: u64, len: u64) -> SendRegionError {
    match e {
        SendRegionError::Send { sent, source } => SendRegionError::Send {
            sent: base + sent,
            source,
        },
        SendRegionError::Read { sent, source } => SendRegionError::Read {
            sent: base + sent,
            source,
        },
        SendRegionError::Truncated { sent, .. } => SendRegionError::Truncated {
            sent: base + sent,
            len,
        },
        other => other,
    }
}
