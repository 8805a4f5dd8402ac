//! Sending a [`DirKv`](crate::DirKv) file region on a host TCP socket with
//! `sendfile(2)`: the kernel hands page-cache pages to the socket, and the
//! bytes never pass through our memory.
//!
//! The head goes first, in a `send` of its own. (Holding it back with
//! `MSG_MORE` so that it shares a segment with the file's first bytes was
//! measured: on loopback it cost the server about 15% more CPU per
//! response.) Both steps wait for
//! the socket through tokio's readiness API: a full send buffer (`EAGAIN`)
//! parks the task until the socket is writable again, and a short count
//! just moves the offset on. A file that shrinks after it was lent makes
//! `sendfile` report 0 bytes at its new end: that is
//! [`SendRegionError::Truncated`], and the caller drops the connection.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::SocketAddr;
#[cfg(target_os = "linux")]
use std::os::fd::{AsFd, AsRawFd};

use mirage_core::SendRegionError;
use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::error::to_stack_error;

/// The most bytes one `sendfile` call is asked for (Linux moves at most
/// 0x7fff_f000 per call).
const MAX_PER_CALL: u64 = 0x7fff_f000;

/// How [`send_file`] ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// The head and the whole region are sent.
    All,
    /// The head is sent, but the file does not support `sendfile`
    /// (`EINVAL`, `ENOSYS`, `EOPNOTSUPP` on the first call, or not Linux):
    /// the caller sends the region another way.
    HeadOnly,
}

/// Writes `head` and then the bytes `start..start + len` of `file` to
/// `stream`, connected to `peer`.
pub(super) async fn send_file(
    stream: &TcpStream,
    peer: SocketAddr,
    head: &[u8],
    file: &File,
    start: u64,
    len: u64,
) -> Result<Sent, SendRegionError> {
    let send_err = |sent| {
        move |e| SendRegionError::Send {
            sent,
            source: to_stack_error(e, peer),
        }
    };
    let mut written = 0;
    while written < head.len() {
        let sock = SockRef::from(stream);
        match retry(stream, || sock.send(&head[written..])).await {
            Ok(0) => return Err(send_err(0)(io::ErrorKind::WriteZero.into())),
            Ok(n) => written += n,
            Err(e) => return Err(send_err(0)(e)),
        }
    }
    let mut sent = 0u64;
    while sent < len {
        let count = (len - sent).min(MAX_PER_CALL) as usize;
        let offset = start + sent;
        match retry(stream, || sendfile(stream, file, offset, count)).await {
            Ok(0) => return Err(SendRegionError::Truncated { sent, len }),
            Ok(n) => sent += n as u64,
            Err(e)
                if sent == 0
                    && matches!(
                        e.raw_os_error(),
                        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
                    ) =>
            {
                return Ok(Sent::HeadOnly);
            }
            Err(e) => return Err(send_err(sent)(e)),
        }
    }
    Ok(Sent::All)
}

/// Runs the non-blocking socket operation `op` until it does not return
/// `WouldBlock` (waiting for the socket to be writable in between) or
/// `Interrupted`.
async fn retry<T>(stream: &TcpStream, mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, &mut op) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// One `sendfile(2)` of at most `count` bytes of `file` from `offset` to
/// the socket of `stream`; returns how many the kernel took (0 at the
/// file's end). The file's own position is left alone.
#[cfg(target_os = "linux")]
fn sendfile(stream: &TcpStream, file: &File, offset: u64, count: usize) -> io::Result<usize> {
    let mut off =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    let out = stream.as_fd();
    let input = file.as_fd();
    // SAFETY: both descriptors are borrowed from live owners for the call;
    // `off` is a valid off_t the kernel reads and updates; no memory of
    // ours is read or written otherwise.
    let n = unsafe { libc::sendfile(out.as_raw_fd(), input.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Other systems' `sendfile`s differ; the region is copied there.
#[cfg(not(target_os = "linux"))]
fn sendfile(_: &TcpStream, _: &File, _: u64, _: usize) -> io::Result<usize> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(test)]
mod test {
    use std::net::SocketAddr;
    use std::time::Duration;

    use mirage_core::{Key, KvRo, KvRw, Region, SendRegionError, Stack, TcpFlow, TcpListener};

    use crate::kv::{DirKv, FileRegion};
    use crate::socket::{SocketStack, SocketTcpFlow};

    fn block_on<F: std::future::Future>(fut: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(fut)
    }

    fn key(s: &str) -> Key {
        Key::parse(s).expect("a valid key")
    }

    /// `len` bytes that differ from one position to the next.
    fn contents(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 257) as u8).collect()
    }

    /// How the test client reads.
    #[derive(Clone, Copy)]
    enum Reader {
        Fast,
        /// 4 KiB at a time with a pause after each, through small socket
        /// buffers on both ends, so the sender meets `EAGAIN` again and again.
        Slow,
    }

    /// Sends `head` and `region` from a server flow to a client and
    /// returns what `send_region` said and what the client received before
    /// the server closed.
    async fn exchange(
        head: &[u8],
        region: &Region,
        reader: Reader,
    ) -> (Result<(), SendRegionError>, Vec<u8>) {
        let stack = SocketStack::exclusive();
        let listener = stack
            .tcp_listen("127.0.0.1:0".parse::<SocketAddr>().unwrap())
            .await
            .expect("listen");
        let addr = listener.local_addr();
        let server = async {
            let mut flow: SocketTcpFlow = listener.accept().await.expect("accept");
            if let Reader::Slow = reader {
                socket2::SockRef::from(flow.get_ref())
                    .set_send_buffer_size(8 * 1024)
                    .expect("SO_SNDBUF");
            }
            let result = flow.send_region(head, region).await;
            if result.is_ok() {
                flow.close().await.expect("close");
            }
            result
        };
        let client = async {
            let mut flow = stack.tcp_connect(addr).await.expect("connect");
            if let Reader::Slow = reader {
                socket2::SockRef::from(flow.get_ref())
                    .set_recv_buffer_size(8 * 1024)
                    .expect("SO_RCVBUF");
            }
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let want = match reader {
                    Reader::Fast => buf.len(),
                    Reader::Slow => 4096,
                };
                match flow.read(&mut buf[..want]).await {
                    Ok(0) | Err(_) => break got,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
                if let Reader::Slow = reader {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        };
        let both = async { futures::join!(server, client) };
        tokio::time::timeout(Duration::from_secs(60), both)
            .await
            .expect("the exchange finishes")
    }

    /// A read-write store in a fresh directory holding `files`.
    fn store(files: &[(&str, &[u8])]) -> (tempfile::TempDir, DirKv) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, data) in files {
            std::fs::write(dir.path().join(name), data).expect("write a test file");
        }
        let kv = DirKv::open(dir.path(), true).expect("open the store");
        (dir, kv)
    }

    fn lend(kv: &DirKv, name: &str, offset: u64, len: u64) -> Region {
        let region = block_on(kv.region(&key(name), offset, len))
            .expect("region")
            .expect("DirKv lends regions");
        assert!(
            region.source::<FileRegion>().is_some(),
            "a DirKv region is its open file"
        );
        region
    }

    fn joined(head: &[u8], body: &[u8]) -> Vec<u8> {
        [head, body].concat()
    }

    #[test]
    fn a_whole_file_a_range_and_an_empty_file() {
        let data = contents(300 * 1024);
        let (_dir, kv) = store(&[("f", &data), ("empty", b"")]);

        let whole = lend(&kv, "f", 0, u64::MAX);
        assert_eq!(whole.len(), data.len() as u64);
        let (r, got) = block_on(exchange(b"HEAD\r\n\r\n", &whole, Reader::Fast));
        r.expect("send the whole file");
        assert!(got == joined(b"HEAD\r\n\r\n", &data), "the whole file");

        let range = lend(&kv, "f", 1000, 5000);
        assert_eq!((range.start(), range.len()), (1000, 5000));
        let (r, got) = block_on(exchange(b"H", &range, Reader::Fast));
        r.expect("send a range");
        assert!(got == joined(b"H", &data[1000..6000]), "the range");

        // A range running past the end is cut there; one past it is empty.
        let tail = lend(&kv, "f", data.len() as u64 - 10, 100);
        let (r, got) = block_on(exchange(b"", &tail, Reader::Fast));
        r.expect("send the tail");
        assert!(got == data[data.len() - 10..], "the tail");
        assert!(lend(&kv, "f", data.len() as u64 + 1, 100).is_empty());

        let empty = lend(&kv, "empty", 0, u64::MAX);
        assert!(empty.is_empty());
        let (r, got) = block_on(exchange(b"head only", &empty, Reader::Fast));
        r.expect("send an empty file");
        assert_eq!(got, b"head only");
    }

    #[test]
    fn a_large_file_to_fast_and_slow_readers() {
        let big = contents(5 * 1024 * 1024);
        let (_dir, kv) = store(&[("big", &big)]);
        let region = lend(&kv, "big", 0, u64::MAX);
        let (r, got) = block_on(exchange(b"HEAD", &region, Reader::Fast));
        r.expect("send 5 MiB");
        assert_eq!(got.len(), big.len() + 4);
        assert!(got == joined(b"HEAD", &big), "5 MiB, byte for byte");

        let part = lend(&kv, "big", 12345, 512 * 1024);
        let (r, got) = block_on(exchange(b"HEAD", &part, Reader::Slow));
        r.expect("send to a slow reader");
        assert!(
            got == joined(b"HEAD", &big[12345..12345 + 512 * 1024]),
            "a slow reader gets every byte, in order"
        );
    }

    #[test]
    fn a_file_that_shrinks_is_an_error_not_a_hang() {
        let data = contents(1024 * 1024);
        let (dir, kv) = store(&[("f", &data)]);
        let region = lend(&kv, "f", 0, u64::MAX);
        // Cut in place after it was lent (a replacement by rename would
        // leave the lent file whole).
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("f"))
            .and_then(|f| f.set_len(100_000))
            .expect("truncate");
        let (r, got) = block_on(exchange(b"HEAD", &region, Reader::Fast));
        match r {
            Err(SendRegionError::Truncated { sent, len }) => {
                assert_eq!((sent, len), (100_000, data.len() as u64));
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        assert!(
            got == joined(b"HEAD", &data[..100_000]),
            "the client gets what there was, then the connection ends"
        );

        // Replaced by a rename: the lent file is still the old one.
        let region = lend(&kv, "f", 0, 100_000);
        block_on(kv.set(&key("f"), bytes::Bytes::from_static(b"new"))).expect("replace the value");
        let (r, got) = block_on(exchange(b"", &region, Reader::Fast));
        r.expect("send the replaced file");
        assert!(got == data[..100_000], "the file as it was when lent");
    }
}
