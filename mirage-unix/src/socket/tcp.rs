//! TCP listeners and flows on host sockets.

use std::io::{self, IoSlice};
use std::net::SocketAddr;

use mirage_core::region::send_region_by_copy;
use mirage_core::{Region, SendRegionError, StackError, TcpFlow, TcpListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::to_stack_error;
use super::sendfile::{self, Sent};
use crate::kv::FileRegion;

/// A listening host TCP socket; see [`super::SocketStack`].
#[derive(Debug)]
pub struct SocketTcpListener {
    inner: tokio::net::TcpListener,
    local: SocketAddr,
}

impl SocketTcpListener {
    /// Registers a listening (non-blocking) std listener with the current
    /// tokio runtime.
    pub fn from_std(std: std::net::TcpListener) -> io::Result<Self> {
        std.set_nonblocking(true)?;
        let inner = tokio::net::TcpListener::from_std(std)?;
        let local = inner.local_addr()?;
        Ok(SocketTcpListener { inner, local })
    }
}

/// Whether an `accept` failure concerns only the connection being accepted
/// (it was reset or aborted while queued), so accepting should go on.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) || e.raw_os_error() == Some(libc::EPROTO)
}

impl TcpListener for SocketTcpListener {
    type Flow = SocketTcpFlow;

    /// Waits for a connection. Connections that die while queued are skipped
    /// rather than reported; running out of file descriptors is
    /// [`StackError::NoBuffers`].
    async fn accept(&self) -> Result<SocketTcpFlow, StackError> {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => match SocketTcpFlow::new(stream) {
                    Ok(flow) => return Ok(flow),
                    Err(e) if is_per_connection(&e) || e.kind() == io::ErrorKind::NotConnected => {
                        log::debug!(
                            "accept on {}: connection lost while queued: {e}",
                            self.local
                        );
                    }
                    Err(e) => return Err(to_stack_error(e, self.local)),
                },
                Err(e) if is_per_connection(&e) => {
                    log::debug!("accept on {}: {e}", self.local);
                }
                Err(e) => return Err(to_stack_error(e, self.local)),
            }
        }
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Buffers gathered into one `writev` by [`SocketTcpFlow`].
const MAX_SLICES: usize = 8;

/// A host TCP connection with `TCP_NODELAY` set; see [`super::SocketStack`].
///
/// Dropping it closes the socket: the kernel still delivers what was
/// written, unless unread data remains, in which case it resets.
#[derive(Debug)]
pub struct SocketTcpFlow {
    inner: tokio::net::TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
}

impl SocketTcpFlow {
    /// Wraps a connected tokio stream, setting `TCP_NODELAY`.
    pub fn new(inner: tokio::net::TcpStream) -> io::Result<Self> {
        inner.set_nodelay(true)?;
        let peer = inner.peer_addr()?;
        let local = inner.local_addr()?;
        Ok(SocketTcpFlow { inner, peer, local })
    }

    /// The underlying tokio stream, for options this type does not expose.
    pub fn get_ref(&self) -> &tokio::net::TcpStream {
        &self.inner
    }

    fn err(&self, e: io::Error) -> StackError {
        to_stack_error(e, self.peer)
    }
}

impl TcpFlow for SocketTcpFlow {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, StackError> {
        match self.inner.read(buf).await {
            Ok(n) => Ok(n),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError> {
        match self.inner.write(buf).await {
            Ok(n) => Ok(n),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Gathers the buffers into `writev` calls (up to eight buffers per
    /// call): a response head and body leave in one system call, uncopied.
    async fn write_all_vectored(&mut self, bufs: &[&[u8]]) -> Result<(), StackError> {
        // The next byte to send is bufs[first][offset].
        let mut first = 0;
        let mut offset = 0;
        loop {
            while first < bufs.len() && offset == bufs[first].len() {
                first += 1;
                offset = 0;
            }
            if first == bufs.len() {
                return Ok(());
            }
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (i, buf) in bufs[first..].iter().take(MAX_SLICES).enumerate() {
                slices[i] = IoSlice::new(if i == 0 { &buf[offset..] } else { buf });
                count = i + 1;
            }
            let mut n = match self.inner.write_vectored(&slices[..count]).await {
                Ok(0) => return Err(StackError::Closed),
                Ok(n) => n,
                Err(e) => return Err(self.err(e)),
            };
            while n > 0 {
                let left = bufs[first].len() - offset;
                if n < left {
                    offset += n;
                    n = 0;
                } else {
                    n -= left;
                    first += 1;
                    offset = 0;
                }
            }
        }
    }

    /// A [`FileRegion`] of a [`DirKv`](crate::DirKv) goes out with
    /// `sendfile(2)`, after the head; any other region is copied
    /// ([`send_region_by_copy`]), as is a file that cannot be `sendfile`d.
    async fn send_region(&mut self, head: &[u8], region: &Region) -> Result<(), SendRegionError> {
        let Some(file) = region.source::<FileRegion>() else {
            return send_region_by_copy(self, head, region).await;
        };
        let (start, len) = (region.start(), region.len());
        match sendfile::send_file(&self.inner, self.peer, head, file.file(), start, len).await {
            Ok(Sent::All) => Ok(()),
            Ok(Sent::HeadOnly) => send_region_by_copy(self, &[], region).await,
            Err(SendRegionError::Truncated { sent, len }) => {
                log::warn!(
                    "{}: the file shrank while being sent ({sent} of {len} bytes sent)",
                    file.key()
                );
                Err(SendRegionError::Truncated { sent, len })
            }
            Err(e) => Err(e),
        }
    }

    async fn flush(&mut self) -> Result<(), StackError> {
        match self.inner.flush().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn shutdown(&mut self) -> Result<(), StackError> {
        match self.inner.shutdown().await {
            Ok(()) => Ok(()),
            // Shutting down twice, or after the peer reset: already closed.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
