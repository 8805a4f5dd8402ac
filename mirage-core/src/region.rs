//! Regions: part of a stored value, lent by a [`KvRo`](crate::KvRo) and
//! sent by a [`TcpFlow`] without the protocol reading it into memory.
//!
//! A static web server answers most requests with "this head, then bytes
//! `a..b` of that file". Reading the bytes into a buffer only to copy them
//! into the socket costs a copy per response; the host kernel's
//! `sendfile(2)` hands page-cache pages to the socket instead. The
//! signatures stay backend-neutral: the store lends a [`Region`] (its own
//! [`RegionSource`] behind it, say an open file), the protocol passes it
//! to [`TcpFlow::send_region`], and a backend that recognises the source
//! ([`Region::source`], a downcast) sends it its own way. Every other pair
//! of store and flow meets in [`send_region_by_copy`], which reads the
//! region in bounded chunks and writes them.
//!
//! ```
//! # #[cfg(feature = "mem")] {
//! use mirage_core::mem::{MemInternet, MemKv, Simulation};
//! use mirage_core::{Key, KvRo, KvRw, Stack, TcpFlow, TcpListener};
//!
//! let mut sim = Simulation::new(1);
//! let kv = MemKv::new(sim.clock());
//! let key = Key::parse("page").unwrap();
//! let internet = MemInternet::new();
//! let host = internet.host(["10.0.0.1".parse().unwrap()]);
//! let got = sim
//!     .block_on(async {
//!         kv.set(&key, "hello, world".into()).await.unwrap();
//!         let listener = host.tcp_listen("10.0.0.1:80".parse().unwrap()).await.unwrap();
//!         let mut client = host.tcp_connect("10.0.0.1:80".parse().unwrap()).await.unwrap();
//!         let mut server = listener.accept().await.unwrap();
//!         // Bytes 7.. of the value, behind a head of our own.
//!         let region = kv.region(&key, 7, 100).await.unwrap().expect("MemKv lends regions");
//!         assert_eq!(region.len(), 5);
//!         server.send_region(b"> ", &region).await.unwrap();
//!         server.close().await.unwrap();
//!         let mut got = Vec::new();
//!         let mut buf = [0; 64];
//!         loop {
//!             match client.read(&mut buf).await.unwrap() {
//!                 0 => break got,
//!                 n => got.extend_from_slice(&buf[..n]),
//!             }
//!         }
//!     })
//!     .unwrap();
//! assert_eq!(got, b"> world");
//! # }
//! ```

use alloc::rc::Rc;
use alloc::vec;
use core::any::Any;
use core::fmt;

use bytes::Bytes;

use crate::kv::KvError;
use crate::stack::{StackError, TcpFlow};

/// Where the bytes of a lent [`Region`] come from: a store's own handle on
/// a value (an open file, a mapped object), read at absolute offsets.
///
/// A backend flow that knows the concrete type finds it with
/// [`Region::source`] and sends the bytes its own way; everyone else reads
/// them through [`RegionSource::read_at`].
pub trait RegionSource: Any {
    /// Reads bytes from `offset` (from the start of the value, not of the
    /// region) into `buf` and returns how many; 0 when `offset` is at or
    /// past the value's current end (it may have shrunk since it was lent).
    ///
    /// Synchronous, as a read of a value already located is (the page
    /// cache, memory); a store whose reads must wait lends no regions.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, KvError>;
}

/// The bytes `start..start + len` of a value, lent by
/// [`KvRo::region`](crate::KvRo::region) for sending with
/// [`TcpFlow::send_region`].
///
/// Either bytes already in memory ([`Region::from_bytes`]) or a part of a
/// store's [`RegionSource`] ([`Region::new`]). Cloning and
/// [slicing](Region::slice) share the source.
#[derive(Clone)]
pub struct Region {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Bytes(Bytes),
    Lent {
        source: Rc<dyn RegionSource>,
        start: u64,
        len: u64,
    },
}

impl Region {
    /// A region of bytes already in memory: sending it copies nothing more
    /// than writing the bytes does.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Region {
            repr: Repr::Bytes(bytes),
        }
    }

    /// The bytes `start..start + len` of `source`. The lender says how long
    /// the value was when it lent it; if it shrinks before the region is
    /// sent, sending fails with [`SendRegionError::Truncated`].
    pub fn new(source: Rc<dyn RegionSource>, start: u64, len: u64) -> Self {
        Region {
            repr: Repr::Lent { source, start, len },
        }
    }

    /// The region's length in bytes.
    pub fn len(&self) -> u64 {
        match &self.repr {
            Repr::Bytes(b) => b.len() as u64,
            Repr::Lent { len, .. } => *len,
        }
    }

    /// Whether the region holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the region starts in its source's value (0 for bytes in
    /// memory).
    pub fn start(&self) -> u64 {
        match &self.repr {
            Repr::Bytes(_) => 0,
            Repr::Lent { start, .. } => *start,
        }
    }

    /// The bytes, when the region is held in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.repr {
            Repr::Bytes(b) => Some(b),
            Repr::Lent { .. } => None,
        }
    }

    /// The source, if it is a `T`: how a backend recognises its own
    /// store's regions (a file it can `sendfile`).
    pub fn source<T: RegionSource>(&self) -> Option<&T> {
        match &self.repr {
            Repr::Bytes(_) => None,
            Repr::Lent { source, .. } => (&**source as &dyn Any).downcast_ref::<T>(),
        }
    }

    /// The part `offset..offset + len` of this region (both relative to
    /// it), cut to fit inside it.
    pub fn slice(&self, offset: u64, len: u64) -> Region {
        let offset = offset.min(self.len());
        let len = len.min(self.len() - offset);
        let repr = match &self.repr {
            // Both fit in usize: they are at most the length of a Bytes.
            Repr::Bytes(b) => Repr::Bytes(b.slice(offset as usize..(offset + len) as usize)),
            Repr::Lent { source, start, .. } => Repr::Lent {
                source: source.clone(),
                start: start + offset,
                len,
            },
        };
        Region { repr }
    }

    /// Reads bytes of the region from `offset` (relative to it) into `buf`,
    /// never past its end; returns how many, 0 at the end of the region or
    /// of the source's value.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, KvError> {
        let left = self.len().saturating_sub(offset);
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        match &self.repr {
            Repr::Bytes(b) => {
                let at = offset as usize; // offset < len, a usize
                buf[..want].copy_from_slice(&b[at..at + want]);
                Ok(want)
            }
            Repr::Lent { source, start, .. } => {
                let n = source.read_at(start + offset, &mut buf[..want])?;
                Ok(n.min(want))
            }
        }
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Bytes(b) => write!(f, "Region::Bytes({} bytes)", b.len()),
            Repr::Lent { start, len, .. } => write!(f, "Region::Lent({start}..{})", start + len),
        }
    }
}

/// Why [`TcpFlow::send_region`] stopped. Each case says how many bytes of
/// the region had been handed to the flow by then ([`SendRegionError::sent`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendRegionError {
    /// Writing to the flow failed (the head, or the region after `sent`
    /// of its bytes).
    #[error("sending failed after {sent} bytes of the region: {source}")]
    Send {
        /// Region bytes sent before the failure.
        sent: u64,
        /// The flow's reason.
        #[source]
        source: StackError,
    },
    /// Reading the region from its store failed.
    #[error("reading the region failed after {sent} bytes: {source}")]
    Read {
        /// Region bytes sent before the failure.
        sent: u64,
        /// The store's reason.
        #[source]
        source: KvError,
    },
    /// The value ended before the region did: it shrank after the region
    /// was lent. The peer has received a short body.
    #[error("the value ended after {sent} of the region's {len} bytes")]
    Truncated {
        /// Region bytes sent (all there were).
        sent: u64,
        /// The region's length.
        len: u64,
    },
}

impl SendRegionError {
    /// Region bytes handed to the flow before the failure.
    pub fn sent(&self) -> u64 {
        match self {
            SendRegionError::Send { sent, .. }
            | SendRegionError::Read { sent, .. }
            | SendRegionError::Truncated { sent, .. } => *sent,
        }
    }
}

/// The most bytes [`send_region_by_copy`] reads at once, and so the size
/// of its buffer.
pub const COPY_CHUNK: usize = 64 * 1024;

/// Writes `head`, then the bytes of `region`: what
/// [`TcpFlow::send_region`] does unless a backend sends the region its own
/// way. A region in memory goes out with the head in one
/// [`TcpFlow::write_all_vectored`]; a lent one is read in chunks of at
/// most [`COPY_CHUNK`] bytes into one buffer, each written with
/// [`TcpFlow::write_all`].
///
/// Backends that override `send_region` call this for regions they do not
/// recognise.
pub async fn send_region_by_copy<F: TcpFlow + ?Sized>(
    flow: &mut F,
    head: &[u8],
    region: &Region,
) -> Result<(), SendRegionError> {
    let send_err = |sent| move |source| SendRegionError::Send { sent, source };
    if let Some(bytes) = region.as_bytes() {
        return flow
            .write_all_vectored(&[head, bytes])
            .await
            .map_err(send_err(0));
    }
    flow.write_all(head).await.map_err(send_err(0))?;
    let len = region.len();
    if len == 0 {
        return Ok(());
    }
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(COPY_CHUNK)];
    let mut sent = 0u64;
    while sent < len {
        let n = region
            .read_at(sent, &mut buf)
            .map_err(|source| SendRegionError::Read { sent, source })?;
        if n == 0 {
            return Err(SendRegionError::Truncated { sent, len });
        }
        flow.write_all(&buf[..n]).await.map_err(send_err(sent))?;
        sent += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use core::cell::Cell;

    /// A source of `len` bytes `i % 251` that can be cut shorter and made
    /// to fail, counting its reads.
    struct Pattern {
        len: Cell<u64>,
        fail: Cell<bool>,
        reads: Cell<usize>,
    }

    impl Pattern {
        fn new(len: u64) -> Rc<Self> {
            Rc::new(Pattern {
                len: Cell::new(len),
                fail: Cell::new(false),
                reads: Cell::new(0),
            })
        }
    }

    fn byte(i: u64) -> u8 {
        (i % 251) as u8
    }

    impl RegionSource for Pattern {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, KvError> {
            self.reads.set(self.reads.get() + 1);
            if self.fail.get() {
                return Err(KvError::NoSpace);
            }
            let end = self.len.get().min(offset + buf.len() as u64);
            let n = end.saturating_sub(offset) as usize;
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = byte(offset + i as u64);
            }
            Ok(n)
        }
    }

    #[test]
    fn slices_and_reads_stay_inside() {
        let src = Pattern::new(1000);
        let r = Region::new(src.clone(), 100, 800);
        assert_eq!((r.len(), r.start()), (800, 100));
        let s = r.slice(700, 500);
        assert_eq!((s.len(), s.start()), (100, 800));
        let mut buf = [0u8; 300];
        assert_eq!(s.read_at(0, &mut buf).unwrap(), 100);
        assert_eq!(buf[0], byte(800));
        assert_eq!(buf[99], byte(899));
        assert_eq!(s.read_at(100, &mut buf).unwrap(), 0);
        assert_eq!(r.slice(900, 10).len(), 0);
        assert!(r.source::<Pattern>().is_some());
        assert!(r.as_bytes().is_none());

        let b = Region::from_bytes(Bytes::from_static(b"0123456789"));
        assert_eq!(b.slice(3, 4).as_bytes().unwrap(), &b"3456"[..]);
        assert_eq!(b.slice(8, 4).as_bytes().unwrap(), &b"89"[..]);
        assert_eq!(b.slice(20, 4).len(), 0);
        assert!(b.source::<Pattern>().is_none());
        let mut small = [0u8; 4];
        assert_eq!(b.read_at(7, &mut small).unwrap(), 3);
        assert_eq!(&small[..3], b"789");
    }

    /// A flow that records what is written, taking at most 7000 bytes per
    /// write and failing after `limit` bytes.
    struct Recorder {
        got: alloc::vec::Vec<u8>,
        limit: usize,
    }

    impl TcpFlow for Recorder {
        async fn read(&mut self, _: &mut [u8]) -> Result<usize, StackError> {
            Ok(0)
        }
        async fn write(&mut self, buf: &[u8]) -> Result<usize, StackError> {
            let room = self.limit - self.got.len();
            if room == 0 {
                return Err(StackError::ConnectionReset);
            }
            let n = buf.len().min(7000).min(room);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        async fn shutdown(&mut self) -> Result<(), StackError> {
            Ok(())
        }
        fn peer_addr(&self) -> core::net::SocketAddr {
            "127.0.0.1:1".parse().unwrap()
        }
        fn local_addr(&self) -> core::net::SocketAddr {
            "127.0.0.1:2".parse().unwrap()
        }
    }

    fn recorder(limit: usize) -> Recorder {
        Recorder {
            got: alloc::vec::Vec::new(),
            limit,
        }
    }

    #[test]
    fn the_default_copies_head_and_region_in_bounded_chunks() {
        let src = Pattern::new(300_000);
        let region = Region::new(src.clone(), 5, 200_000);
        let mut flow = recorder(usize::MAX);
        futures::executor::block_on(flow.send_region(b"HEAD", &region)).unwrap();
        assert_eq!(&flow.got[..4], b"HEAD");
        assert_eq!(flow.got.len(), 4 + 200_000);
        assert!(
            flow.got[4..]
                .iter()
                .enumerate()
                .all(|(i, b)| *b == byte(5 + i as u64))
        );
        // 200 000 bytes in chunks of at most COPY_CHUNK.
        assert_eq!(src.reads.get(), 200_000usize.div_ceil(COPY_CHUNK));

        let mut flow = recorder(usize::MAX);
        let bytes = Region::from_bytes(Bytes::from_static(b"body"));
        futures::executor::block_on(flow.send_region(b"head,", &bytes)).unwrap();
        assert_eq!(flow.got, b"head,body");

        let mut flow = recorder(usize::MAX);
        let empty = Region::new(src, 0, 0);
        futures::executor::block_on(flow.send_region(b"only", &empty)).unwrap();
        assert_eq!(flow.got, b"only");
    }

    #[test]
    fn the_default_reports_how_far_it_got() {
        let src = Pattern::new(100_000);
        let region = Region::new(src.clone(), 0, 100_000);
        // The value shrinks to 70 000 bytes after it was lent.
        src.len.set(70_000);
        let mut flow = recorder(usize::MAX);
        let e = futures::executor::block_on(flow.send_region(b"", &region)).unwrap_err();
        assert!(
            matches!(
                e,
                SendRegionError::Truncated {
                    sent: 70_000,
                    len: 100_000
                }
            ),
            "{e:?}"
        );
        assert_eq!(flow.got.len(), 70_000);

        src.len.set(100_000);
        let mut flow = recorder(10_000);
        let e = futures::executor::block_on(flow.send_region(b"h", &region)).unwrap_err();
        assert!(matches!(e, SendRegionError::Send { sent: 0, .. }), "{e:?}");

        let mut flow = recorder(usize::MAX);
        src.fail.set(true);
        let e = futures::executor::block_on(flow.send_region(b"h", &region)).unwrap_err();
        assert!(matches!(e, SendRegionError::Read { sent: 0, .. }), "{e:?}");
        assert_eq!(e.sent(), 0);
    }
}
