use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use crate::kv::KvError;
use crate::region::{Region, RegionSource};
use crate::stack::{Stack, StackError, TcpFlow, TcpListener, UdpSocket};

/// Checks TCP and UDP on `ip`, an address of the stack that it can reach
/// itself (e.g. 127.0.0.1 for host sockets): listen on port 0, connect,
/// echo 200 KiB both ways concurrently, half-close, refused connections,
/// address-in-use, and UDP datagrams with their sender addresses.
///
/// A backend that shares ports between instances (`SO_REUSEPORT`) must run
/// this in its exclusive mode, where a second bind fails with
/// [`StackError::AddrInUse`].
pub async fn stack<S: Stack + ?Sized>(s: &S, ip: IpAddr) {
    // TCP.
    let listener = s
        .tcp_listen(SocketAddr::new(ip, 0))
        .await
        .expect("listen on port 0");
    let addr = listener.local_addr();
    assert_ne!(addr.port(), 0, "listening on port 0 picks a port");
    assert!(
        matches!(s.tcp_listen(addr).await, Err(StackError::AddrInUse(_))),
        "listening twice on one address is AddrInUse"
    );
    let payload: Vec<u8> = (0..200 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let server = async {
        let mut flow = listener.accept().await.expect("accept");
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = flow.read(&mut buf).await.expect("server read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            flow.write_all(&buf[..n]).await.expect("server write");
        }
        flow.close().await.expect("server close");
        got
    };
    let client = async {
        let mut flow = s.tcp_connect(addr).await.expect("connect");
        assert_eq!(flow.peer_addr(), addr, "peer address of a connected flow");
        let mut echoed = Vec::new();
        let mut buf = vec![0u8; 4096];
        let mut sent = 0;
        // Interleave writing and reading so neither side's buffers fill up.
        while sent < payload.len() {
            let end = (sent + 8192).min(payload.len());
            flow.write_all(&payload[sent..end])
                .await
                .expect("client write");
            sent = end;
            while echoed.len() + 8192 < sent {
                let n = flow.read(&mut buf).await.expect("client read");
                assert!(n > 0, "early end of stream");
                echoed.extend_from_slice(&buf[..n]);
            }
        }
        flow.shutdown().await.expect("half-close");
        loop {
            let n = flow
                .read(&mut buf)
                .await
                .expect("client read after half-close");
            if n == 0 {
                break;
            }
            echoed.extend_from_slice(&buf[..n]);
        }
        echoed
    };
    let (got, echoed) = futures::join!(server, client);
    assert!(
        got == payload,
        "the server received the bytes sent, in order"
    );
    assert!(echoed == payload, "the client received the echo, in order");
    send_regions(s, &listener).await;
    drop(listener);
    assert!(
        s.tcp_connect(addr).await.is_err(),
        "connecting to a closed listener fails"
    );

    // UDP.
    let a = s
        .udp_bind(SocketAddr::new(ip, 0))
        .await
        .expect("udp bind a");
    let b = s
        .udp_bind(SocketAddr::new(ip, 0))
        .await
        .expect("udp bind b");
    assert!(
        matches!(
            s.udp_bind(a.local_addr()).await,
            Err(StackError::AddrInUse(_))
        ),
        "binding twice is AddrInUse"
    );
    let mut buf = [0u8; 2048];
    for i in 0..10u8 {
        let msg = [i; 100];
        a.send_to(&msg, b.local_addr()).await.expect("send_to");
        let (n, from) = b.recv_from(&mut buf).await.expect("recv_from");
        assert_eq!(&buf[..n], &msg[..], "datagram {i} arrives whole");
        assert_eq!(from, a.local_addr(), "sender address of datagram {i}");
        b.send_to(&buf[..n], from).await.expect("reply");
        let (n, from) = a.recv_from(&mut buf).await.expect("recv reply");
        assert_eq!((n, from), (100, b.local_addr()), "reply {i}");
    }

    // Batches: send_many may send a prefix; recv_many takes what is ready.
    let msgs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + usize::from(i)]).collect();
    let batch: Vec<(&[u8], SocketAddr)> = msgs
        .iter()
        .map(|m| (m.as_slice(), b.local_addr()))
        .collect();
    assert!(
        matches!(a.send_many(&[]).await, Ok(0)),
        "an empty batch sends nothing"
    );
    let mut sent = 0;
    while sent < batch.len() {
        let n = a.send_many(&batch[sent..]).await.expect("send_many");
        assert!(n >= 1, "send_many sends at least one datagram");
        sent += n;
    }
    assert_eq!(
        sent,
        batch.len(),
        "send_many never reports more than it had"
    );
    let mut store = [[0u8; 64]; 3];
    let mut got: Vec<Vec<u8>> = Vec::new();
    let unspecified = SocketAddr::new(ip, 0);
    while got.len() < msgs.len() {
        let mut bufs: Vec<&mut [u8]> = store.iter_mut().map(|b| &mut b[..]).collect();
        let mut meta = [(0, unspecified); 3];
        let n = b.recv_many(&mut bufs, &mut meta).await.expect("recv_many");
        assert!((1..=3).contains(&n), "recv_many takes 1 to 3, took {n}");
        for (buf, (len, from)) in bufs.iter().zip(&meta).take(n) {
            assert_eq!(*from, a.local_addr(), "sender address in a batch");
            got.push(buf[..*len].to_vec());
        }
    }
    assert_eq!(got, msgs, "batched datagrams arrive whole and in order");
    let mut empty: [&mut [u8]; 0] = [];
    assert!(
        matches!(b.recv_many(&mut empty, &mut []).await, Ok(0)),
        "recv_many with no buffers returns at once"
    );
}

/// A value of bytes `i % 253`, of any length, lent from nowhere a backend
/// could recognise: the flow must fall back to reading it.
struct Pattern(u64);

fn pattern_byte(i: u64) -> u8 {
    (i % 253) as u8
}

impl RegionSource for Pattern {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, KvError> {
        let n = self.0.saturating_sub(offset).min(buf.len() as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern_byte(offset + i as u64);
        }
        Ok(n)
    }
}

/// `send_region` delivers the head and then exactly the region's bytes,
/// for a lent region larger than any buffer, one in memory, and an empty one.
async fn send_regions<S: Stack + ?Sized>(s: &S, listener: &S::TcpListener) {
    let addr = listener.local_addr();
    let source: Rc<dyn RegionSource> = Rc::new(Pattern(1 << 20));
    let lent = Region::new(source.clone(), 1000, 300 * 1024);
    let in_memory = Region::from_bytes(bytes::Bytes::from_static(b"in memory"));
    let empty = Region::new(source, 5, 0);
    let server = async {
        let mut flow = listener.accept().await.expect("accept");
        flow.send_region(b"head 1|", &lent)
            .await
            .expect("send a lent region");
        flow.send_region(b"|head 2|", &in_memory)
            .await
            .expect("send a region in memory");
        flow.send_region(b"|head 3", &empty)
            .await
            .expect("send an empty region");
        flow.close().await.expect("close after regions");
    };
    let client = async {
        let mut flow = s.tcp_connect(addr).await.expect("connect");
        let mut got = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = flow.read(&mut buf).await.expect("read regions");
            if n == 0 {
                break got;
            }
            got.extend_from_slice(&buf[..n]);
        }
    };
    let ((), got) = futures::join!(server, client);
    let mut want = b"head 1|".to_vec();
    want.extend((1000..1000 + 300 * 1024u64).map(pattern_byte));
    want.extend_from_slice(b"|head 2|in memory|head 3");
    assert_eq!(got.len(), want.len(), "send_region delivers every byte");
    assert!(got == want, "send_region delivers head and region in order");
}
