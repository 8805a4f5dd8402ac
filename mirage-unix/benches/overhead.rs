//! What the mirage-core signatures cost on Unix: the same work through
//! `SocketStack`/`DirKv` and through tokio/std directly, printed as ratios
//! (1.00 = no overhead). Run with `cargo bench -p mirage-unix`.

use std::time::{Duration, Instant};

use mirage_core::{Key, KvRo, Stack, TcpFlow, TcpListener};
use mirage_unix::{DirKv, SocketStack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BYTES: usize = 256 << 20;
const CHUNK: usize = 64 << 10;

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, fut)
}

/// Streams BYTES over loopback TCP through SocketStack.
async fn through_stack() -> Duration {
    let s = SocketStack::new();
    let l = s.tcp_listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = l.local_addr();
    let t = Instant::now();
    let send = async {
        let mut f = s.tcp_connect(addr).await.unwrap();
        let buf = vec![7u8; CHUNK];
        for _ in 0..BYTES / CHUNK {
            f.write_all(&buf).await.unwrap();
        }
        f.close().await.unwrap();
    };
    let recv = async {
        let mut f = l.accept().await.unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0;
        while let k @ 1.. = f.read(&mut buf).await.unwrap() {
            n += k;
        }
        assert_eq!(n, BYTES);
    };
    futures::join!(send, recv);
    t.elapsed()
}

/// The same with tokio's TcpStream directly.
async fn through_tokio() -> Duration {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let t = Instant::now();
    let send = async {
        let mut f = tokio::net::TcpStream::connect(addr).await.unwrap();
        f.set_nodelay(true).unwrap();
        let buf = vec![7u8; CHUNK];
        for _ in 0..BYTES / CHUNK {
            f.write_all(&buf).await.unwrap();
        }
        f.shutdown().await.unwrap();
    };
    let recv = async {
        let (mut f, _) = l.accept().await.unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0;
        while let k @ 1.. = f.read(&mut buf).await.unwrap() {
            n += k;
        }
        assert_eq!(n, BYTES);
    };
    futures::join!(send, recv);
    t.elapsed()
}

/// Reads 1000 small files 20 times, through DirKv and through std::fs.
fn small_reads() -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..1000 {
        std::fs::write(dir.path().join(format!("f{i}")), vec![b'x'; 2048]).unwrap();
    }
    let kv = DirKv::open(dir.path(), false).unwrap();
    let keys: Vec<Key> = (0..1000)
        .map(|i| Key::parse(&format!("f{i}")).unwrap())
        .collect();
    let t = Instant::now();
    block_on(async {
        for _ in 0..20 {
            for k in &keys {
                assert_eq!(kv.get(k).await.unwrap().len(), 2048);
            }
        }
    });
    let kv_time = t.elapsed();
    let t = Instant::now();
    for _ in 0..20 {
        for i in 0..1000 {
            let p = dir.path().join(format!("f{i}"));
            assert_eq!(std::fs::read(p).unwrap().len(), 2048);
        }
    }
    (kv_time, t.elapsed())
}

fn main() {
    let mb = (BYTES >> 20) as f64;
    let ours = block_on(through_stack());
    let base = block_on(through_tokio());
    println!(
        "tcp stream {mb} MiB: SocketStack {:.0} MiB/s, tokio {:.0} MiB/s, time ratio {:.2}",
        mb / ours.as_secs_f64(),
        mb / base.as_secs_f64(),
        ours.as_secs_f64() / base.as_secs_f64()
    );
    let (kv, fs) = small_reads();
    println!(
        "20000 reads of 2 KiB files: DirKv {:?}, std::fs {:?}, time ratio {:.2}",
        kv,
        fs,
        kv.as_secs_f64() / fs.as_secs_f64()
    );
}
