//! The byte streams the protocol layer reads and writes, apart from where
//! they come from (a TCP flow, an HTTP body, a local process's pipes).

use mirage_core::TcpFlow;

use crate::error::TransportError;

/// A source of bytes.
#[allow(async_fn_in_trait)]
pub trait Input {
    /// Reads some bytes into `buf`; `Ok(0)` is the end of the stream.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;
}

/// A sink of bytes.
#[allow(async_fn_in_trait)]
pub trait Output {
    /// Writes all of `buf`.
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError>;
    /// Hands everything written to the peer.
    async fn flush(&mut self) -> Result<(), TransportError>;
}

impl<T: Input + ?Sized> Input for &mut T {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        (**self).read(buf).await
    }
}

impl<T: Output + ?Sized> Output for &mut T {
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        (**self).write_all(buf).await
    }
    async fn flush(&mut self) -> Result<(), TransportError> {
        (**self).flush().await
    }
}

/// A mirage-core TCP flow as [`Input`] and [`Output`].
#[derive(Debug)]
pub struct FlowIo<F>(pub F);

impl<F: TcpFlow> Input for FlowIo<F> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        Ok(self.0.read(buf).await?)
    }
}

impl<F: TcpFlow> Output for FlowIo<F> {
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        Ok(self.0.write_all(buf).await?)
    }
    async fn flush(&mut self) -> Result<(), TransportError> {
        Ok(self.0.flush().await?)
    }
}

/// Bytes held in memory as an [`Input`] (captured transcripts, buffered bodies).
#[derive(Debug, Clone, Default)]
pub struct SliceInput<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl<'a> SliceInput<'a> {
    /// Reads `data`, at most `chunk` bytes per read (0: no limit).
    pub fn new(data: &'a [u8], chunk: usize) -> Self {
        SliceInput { data, chunk }
    }
}

impl Input for SliceInput<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let mut n = buf.len().min(self.data.len());
        if self.chunk > 0 {
            n = n.min(self.chunk);
        }
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
