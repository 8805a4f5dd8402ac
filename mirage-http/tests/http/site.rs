//! The static-site handler over a `MemKv`, and over the server.

use std::cell::Cell;

use bytes::Bytes;
use mirage_core::mem::{MemKv, Simulation};
use mirage_core::{
    Digest, EntryKind, Key, KvError, KvRo, KvRw, Metadata, PosixTime, Region, RegionSource, Stack,
    TcpFlow,
};
use mirage_http::date::imf_fixdate;
use mirage_http::parse::{Limits, Status, parse_head};
use mirage_http::{Body, Config, Response, SiteOptions, StaticSite};

use crate::client::{Reader, exchange, run, server_addr};

fn site(files: &[(&str, &[u8])]) -> (Simulation, MemKv) {
    let mut sim = Simulation::new(3);
    let kv = MemKv::new(sim.clock());
    for (path, data) in files {
        let key = Key::parse(path).unwrap();
        sim.block_on(kv.set(&key, Bytes::copy_from_slice(data)))
            .unwrap()
            .unwrap();
    }
    (sim, kv)
}

/// The response to `request` (a head), with its body collected.
fn get<K: KvRo>(
    sim: &mut Simulation,
    site: &StaticSite<K>,
    request: &str,
) -> (Response<'static>, Vec<u8>) {
    let Ok(Status::Complete((head, _))) = parse_head(request.as_bytes(), &Limits::default()) else {
        panic!("bad test request {request:?}")
    };
    sim.block_on(async {
        let resp = site.respond(&head).await;
        let mut body = Vec::new();
        let stripped = Response {
            status: resp.status,
            headers: resp.headers.clone(),
            body: Body::Empty,
        };
        match resp.body {
            Body::Empty => {}
            Body::Full(b) => body.extend_from_slice(&b),
            Body::Region(r) => {
                let mut buf = vec![0u8; r.len() as usize];
                let mut got = 0;
                while got < buf.len() {
                    let n = r.read_at(got as u64, &mut buf[got..]).unwrap();
                    assert!(n > 0, "the region ended early");
                    got += n;
                }
                body.extend_from_slice(&buf);
            }
            Body::Stream { mut stream, len } => {
                use futures::StreamExt;
                while let Some(c) = stream.next().await {
                    body.extend_from_slice(&c.unwrap());
                }
                if let Some(len) = len {
                    assert_eq!(body.len() as u64, len);
                }
            }
        }
        (stripped, body)
    })
    .unwrap()
}

fn req(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n")
}

fn hdr<'a>(r: &'a Response<'_>, name: &str) -> Option<&'a str> {
    r.headers.get_str(name)
}

const FILES: &[(&str, &[u8])] = &[
    ("index.html", b"<h1>home</h1>"),
    ("docs/index.html", b"<h1>docs</h1>"),
    ("docs/guide.txt", b"0123456789abcdefghij"),
    ("empty/.keep", b""),
    ("style.css", b"body{}"),
    ("style.css.gz", b"\x1f\x8bGZ"),
    ("caf\u{e9}.txt", b"coffee"),
];

#[test]
fn index_and_directories() {
    let (mut sim, kv) = site(FILES);
    let s = StaticSite::new(kv);
    let (r, body) = get(&mut sim, &s, &req("/"));
    assert_eq!((r.status, &body[..]), (200, &b"<h1>home</h1>"[..]));
    assert_eq!(hdr(&r, "content-type"), Some("text/html; charset=utf-8"));
    let (r, _) = get(&mut sim, &s, &req("/docs?x=1"));
    assert_eq!((r.status, hdr(&r, "location")), (301, Some("/docs/?x=1")));
    let (r, body) = get(&mut sim, &s, &req("/docs/"));
    assert_eq!((r.status, &body[..]), (200, &b"<h1>docs</h1>"[..]));
    let (r, _) = get(&mut sim, &s, &req("/empty/"));
    assert_eq!(r.status, 404);
    let (r, _) = get(&mut sim, &s, &req("/docs/guide.txt/"));
    assert_eq!(r.status, 404);
    let (r, body) = get(&mut sim, &s, &req("/caf%C3%A9.txt"));
    assert_eq!((r.status, &body[..]), (200, &b"coffee"[..]));
    let (r, _) = get(
        &mut sim,
        &s,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!((r.status, hdr(&r, "allow")), (405, Some("GET, HEAD")));
}

#[test]
fn not_found_uses_the_sites_page() {
    let (mut sim, kv) = site(FILES);
    let s = StaticSite::new(kv.clone());
    let (r, body) = get(&mut sim, &s, &req("/nope"));
    assert_eq!((r.status, &body[..]), (404, &b"404 Not Found\n"[..]));
    sim.block_on(kv.set(&Key::parse("404.html").unwrap(), "<p>lost</p>".into()))
        .unwrap()
        .unwrap();
    let (r, body) = get(&mut sim, &s, &req("/nope"));
    assert_eq!((r.status, &body[..]), (404, &b"<p>lost</p>"[..]));
    assert_eq!(hdr(&r, "content-type"), Some("text/html; charset=utf-8"));
}

#[test]
fn validators_and_conditional_requests() {
    let (mut sim, kv) = site(FILES);
    let key = Key::parse("docs/guide.txt").unwrap();
    let digest = sim.block_on(kv.digest(&key)).unwrap().unwrap();
    let modified = sim.block_on(kv.last_modified(&key)).unwrap().unwrap();
    let s = StaticSite::new(kv);
    let (r, _) = get(&mut sim, &s, &req("/docs/guide.txt"));
    let etag = format!("\"{digest}\"");
    assert_eq!(hdr(&r, "etag"), Some(etag.as_str()));
    assert_eq!(
        hdr(&r, "last-modified"),
        Some(imf_fixdate(modified).as_str())
    );
    assert_eq!(hdr(&r, "content-type"), Some("text/plain; charset=utf-8"));
    let cond = |h: &str| format!("GET /docs/guide.txt HTTP/1.1\r\nHost: a\r\n{h}\r\n\r\n");
    let (r, body) = get(&mut sim, &s, &cond(&format!("If-None-Match: {etag}")));
    assert_eq!((r.status, body.len()), (304, 0));
    let (r, _) = get(&mut sim, &s, &cond("If-None-Match: \"other\""));
    assert_eq!(r.status, 200);
    let (r, _) = get(
        &mut sim,
        &s,
        &cond(&format!("If-Modified-Since: {}", imf_fixdate(modified))),
    );
    assert_eq!(r.status, 304);
    let (r, _) = get(&mut sim, &s, &cond("If-Match: \"other\""));
    assert_eq!(r.status, 412);
    let (r, body) = get(&mut sim, &s, &cond(&format!("If-Match: {etag}")));
    assert_eq!((r.status, body.len()), (200, 20));
    let earlier = PosixTime::from_secs(modified.secs - 1);
    let (r, _) = get(
        &mut sim,
        &s,
        &cond(&format!("If-Unmodified-Since: {}", imf_fixdate(earlier))),
    );
    assert_eq!(r.status, 412);
    let (r, _) = get(
        &mut sim,
        &s,
        &cond(&format!("If-Modified-Since: {}", imf_fixdate(earlier))),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn ranges() {
    let (mut sim, kv) = site(FILES);
    let s = StaticSite::new(kv);
    let range = |h: &str| format!("GET /docs/guide.txt HTTP/1.1\r\nHost: a\r\nRange: {h}\r\n\r\n");
    let (r, body) = get(&mut sim, &s, &range("bytes=2-5"));
    assert_eq!((r.status, &body[..]), (206, &b"2345"[..]));
    assert_eq!(hdr(&r, "content-range"), Some("bytes 2-5/20"));
    let (r, body) = get(&mut sim, &s, &range("bytes=-3"));
    assert_eq!((r.status, &body[..]), (206, &b"hij"[..]));
    let (r, _) = get(&mut sim, &s, &range("bytes=20-"));
    assert_eq!(
        (r.status, hdr(&r, "content-range")),
        (416, Some("bytes */20"))
    );
    let (r, body) = get(&mut sim, &s, &range("bytes=0-1,4-5"));
    assert_eq!((r.status, body.len()), (200, 20));
    let (r, body) = get(
        &mut sim,
        &s,
        "GET /docs/guide.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: \"stale\"\r\n\r\n",
    );
    assert_eq!((r.status, body.len()), (200, 20));
}

#[test]
fn precompressed_siblings() {
    let (mut sim, kv) = site(FILES);
    let s = StaticSite::new(kv);
    let (r, body) = get(
        &mut sim,
        &s,
        "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br, gzip\r\n\r\n",
    );
    assert_eq!(&body[..], b"\x1f\x8bGZ");
    assert_eq!(hdr(&r, "content-encoding"), Some("gzip"));
    assert_eq!(hdr(&r, "content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(hdr(&r, "vary"), Some("Accept-Encoding"));
    let (r, body) = get(&mut sim, &s, &req("/style.css"));
    assert_eq!(&body[..], b"body{}");
    assert_eq!(hdr(&r, "content-encoding"), None);
    assert_eq!(hdr(&r, "vary"), Some("Accept-Encoding"));
    let (r, _) = get(&mut sim, &s, &req("/index.html"));
    assert_eq!(hdr(&r, "vary"), None);
    let off = StaticSite::with_options(
        s.kv().clone(),
        SiteOptions {
            gzip_static: false,
            ..SiteOptions::default()
        },
    );
    let (r, _) = get(
        &mut sim,
        &off,
        "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert_eq!(hdr(&r, "content-encoding"), None);
}

#[test]
fn traversal_is_refused() {
    let (mut sim, kv) = site(FILES);
    let s = StaticSite::new(kv);
    for path in [
        "/../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/docs/../../etc/passwd",
        "/docs/%2E%2E/%2e%2e/etc/passwd",
        "/docs%2f..%2f..%2fetc%2fpasswd",
        "/docs/guide.txt%00.html",
        "/..%5c..%5cetc%5cpasswd",
        "/docs\\..\\..\\etc",
        "/%",
    ] {
        let (r, _) = get(&mut sim, &s, &req(path));
        assert_eq!(r.status, 400, "{path}");
    }
    // Dot segments inside the root are resolved, as nginx does.
    let (r, body) = get(&mut sim, &s, &req("/docs/./../docs/guide.txt"));
    assert_eq!((r.status, body.len()), (200, 20));
}

/// A store that records how it is read.
struct Watched {
    inner: MemKv,
    whole_reads: Cell<usize>,
    largest_partial: Cell<usize>,
    digests: Cell<usize>,
    calls: Cell<usize>,
}

impl Watched {
    fn count(&self) {
        self.calls.set(self.calls.get() + 1);
    }

    fn new(inner: MemKv) -> Self {
        Watched {
            inner,
            whole_reads: Cell::new(0),
            largest_partial: Cell::new(0),
            digests: Cell::new(0),
            calls: Cell::new(0),
        }
    }
}

impl KvRo for Watched {
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        self.count();
        self.inner.exists(key).await
    }
    async fn get(&self, key: &Key) -> Result<Bytes, KvError> {
        self.count();
        self.whole_reads.set(self.whole_reads.get() + 1);
        self.inner.get(key).await
    }
    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
        self.count();
        self.largest_partial
            .set(self.largest_partial.get().max(length));
        self.inner.get_partial(key, offset, length).await
    }
    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> {
        self.count();
        self.inner.list(key).await
    }
    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> {
        self.count();
        self.inner.last_modified(key).await
    }
    async fn digest(&self, key: &Key) -> Result<Digest, KvError> {
        self.count();
        self.digests.set(self.digests.get() + 1);
        self.inner.digest(key).await
    }
    async fn size(&self, key: &Key) -> Result<u64, KvError> {
        self.count();
        self.inner.size(key).await
    }
    async fn metadata(&self, key: &Key) -> Result<Metadata, KvError> {
        self.count();
        self.inner.metadata(key).await
    }
}

#[test]
fn large_files_stream_in_chunks_over_the_server() {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let (_, kv) = site(&[("big.bin", &big), ("index.html", b"hi")]);
    let watched = Watched::new(kv);
    let site = StaticSite::new(&watched);
    let expected = big.clone();
    run(site, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(&mut flow, b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(resp.body.len(), expected.len());
        assert!(resp.body == expected);
        let resp = exchange(
            &mut flow,
            b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=1000000-1000009\r\n\r\n",
        )
        .await;
        assert_eq!(
            (resp.status, &resp.body[..]),
            (206, &expected[1_000_000..1_000_010])
        );
        let resp = exchange(&mut flow, b"HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(resp.header("content-length"), Some("3000000"));
    });
    assert_eq!(watched.whole_reads.get(), 0);
    assert_eq!(watched.largest_partial.get(), 64 * 1024);
}

#[test]
fn traversal_and_smuggling_corpus_over_the_wire() {
    let (_, kv) = site(FILES);
    let corpus: &[(&[u8], u16)] = &[
        (b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /a%2f..%2f..%2fetc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /index.html%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\rb\r\n", 400),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ];
    for (bytes, status) in corpus {
        let site = StaticSite::new(kv.clone());
        run(site, Config::default(), |host, _| async move {
            let mut flow = host.tcp_connect(server_addr()).await.unwrap();
            let mut reader = Reader::new();
            flow.write_all(bytes).await.unwrap();
            let resp = reader.response(&mut flow, false).await.unwrap();
            assert_eq!(resp.status, *status, "{}", String::from_utf8_lossy(bytes));
        });
    }
}

#[test]
fn digests_are_memoized_until_the_value_changes() {
    let (mut sim, kv) = site(FILES);
    let watched = Watched::new(kv.clone());
    let s = StaticSite::new(&watched);
    let (first, _) = get(&mut sim, &s, &req("/docs/guide.txt"));
    let (again, _) = get(&mut sim, &s, &req("/docs/guide.txt"));
    assert_eq!(hdr(&first, "etag"), hdr(&again, "etag"));
    assert_eq!(watched.digests.get(), 1);
    let key = Key::parse("docs/guide.txt").unwrap();
    sim.block_on(kv.set(&key, "changed".into()))
        .unwrap()
        .unwrap();
    let (changed, body) = get(&mut sim, &s, &req("/docs/guide.txt"));
    assert_eq!(&body[..], b"changed");
    assert_ne!(hdr(&first, "etag"), hdr(&changed, "etag"));
    assert_eq!(watched.digests.get(), 2);
    let plain = StaticSite::with_options(
        &watched,
        SiteOptions {
            memoize_digests: false,
            ..SiteOptions::default()
        },
    );
    get(&mut sim, &plain, &req("/docs/guide.txt"));
    get(&mut sim, &plain, &req("/docs/guide.txt"));
    assert_eq!(watched.digests.get(), 4);
}

#[test]
fn an_owned_response_outlives_its_site() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (mut sim, kv) = site(&[("big.bin", &big)]);
    let Ok(Status::Complete((head, _))) = parse_head(
        b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n",
        &Limits::default(),
    ) else {
        panic!("bad test request")
    };
    let body = sim
        .block_on(async {
            // MemKv lends its bytes: a large body is shared, not copied.
            let site = StaticSite::new(kv.clone());
            let resp = site.respond_owned(&head).await;
            drop(site);
            let Body::Full(b) = resp.body else {
                panic!("a 200 kB body of a MemKv is its bytes")
            };
            assert!(b == big);
            // Without regions it streams, reading from the owned store.
            let options = SiteOptions {
                region_min: u64::MAX,
                ..SiteOptions::default()
            };
            let site = StaticSite::with_options(kv.clone(), options);
            let resp = site.respond_owned(&head).await;
            drop(site);
            assert_eq!(resp.status, 200);
            let Body::Stream { mut stream, len } = resp.body else {
                panic!("a 200 kB body streams")
            };
            assert_eq!(len, Some(big.len() as u64));
            use futures::StreamExt;
            let mut body = Vec::new();
            while let Some(c) = stream.next().await {
                body.extend_from_slice(&c.unwrap());
            }
            body
        })
        .unwrap();
    assert!(body == big);
}

#[test]
fn a_cached_file_costs_two_store_calls() {
    let (mut sim, kv) = site(FILES);
    let watched = Watched::new(kv);
    let s = StaticSite::new(&watched);
    get(&mut sim, &s, &req("/docs/guide.txt"));
    watched.calls.set(0);
    let (r, body) = get(&mut sim, &s, &req("/docs/guide.txt"));
    assert_eq!(r.status, 200);
    // The file's metadata and the .gz sibling's: the digest and the bytes
    // are remembered from the first request.
    assert_eq!(watched.calls.get(), 2);
    let uncached = StaticSite::with_options(
        &watched,
        SiteOptions {
            cache_bytes: 0,
            ..SiteOptions::default()
        },
    );
    get(&mut sim, &uncached, &req("/docs/guide.txt"));
    watched.calls.set(0);
    let (r, again) = get(&mut sim, &uncached, &req("/docs/guide.txt"));
    assert_eq!(r.status, 200);
    assert_eq!(body, again);
    // Without the cache, one read for the body too.
    assert_eq!(watched.calls.get(), 3);
}

#[test]
fn cached_bodies_follow_changes_and_ranges() {
    let (mut sim, kv) = site(FILES);
    let watched = Watched::new(kv.clone());
    let s = StaticSite::new(&watched);
    let (_, first) = get(&mut sim, &s, &req("/docs/guide.txt"));
    let reads = watched.largest_partial.get();
    assert!(reads > 0);
    let ranged = "GET /docs/guide.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=1-3\r\n\r\n";
    let (r, part) = get(&mut sim, &s, ranged);
    assert_eq!((r.status, &part[..]), (206, &first[1..4]));
    let key = Key::parse("docs/guide.txt").unwrap();
    sim.block_on(kv.set(&key, "a new text".into()))
        .unwrap()
        .unwrap();
    let (_, body) = get(&mut sim, &s, &req("/docs/guide.txt"));
    assert_eq!(&body[..], b"a new text");
    let (r, part) = get(&mut sim, &s, ranged);
    assert_eq!((r.status, &part[..]), (206, &b" ne"[..]));
}

/// A store lending its values as regions that are not bytes in memory, as
/// a directory store lends its files, and counting the regions lent.
struct Lending {
    inner: MemKv,
    lent: Cell<usize>,
    /// Whether lent values shrink to half their length once lent.
    shrink: Cell<bool>,
}

impl Lending {
    fn new(inner: MemKv) -> Self {
        Lending {
            inner,
            lent: Cell::new(0),
            shrink: Cell::new(false),
        }
    }
}

/// A value behind a lent region.
struct Lent(Bytes);

impl RegionSource for Lent {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, KvError> {
        let at = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let n = buf.len().min(self.0.len() - at);
        buf[..n].copy_from_slice(&self.0[at..at + n]);
        Ok(n)
    }
}

impl KvRo for Lending {
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        self.inner.exists(key).await
    }
    async fn get(&self, key: &Key) -> Result<Bytes, KvError> {
        self.inner.get(key).await
    }
    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
        self.inner.get_partial(key, offset, length).await
    }
    async fn region(&self, key: &Key, offset: u64, length: u64) -> Result<Option<Region>, KvError> {
        let value = self.inner.get(key).await?;
        self.lent.set(self.lent.get() + 1);
        let len = value.len() as u64;
        let start = offset.min(len);
        let now = match self.shrink.get() {
            true => value.slice(..value.len() / 2),
            false => value,
        };
        let source = std::rc::Rc::new(Lent(now));
        Ok(Some(Region::new(source, start, length.min(len - start))))
    }
    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> {
        self.inner.list(key).await
    }
    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> {
        self.inner.last_modified(key).await
    }
    async fn digest(&self, key: &Key) -> Result<Digest, KvError> {
        self.inner.digest(key).await
    }
    async fn size(&self, key: &Key) -> Result<u64, KvError> {
        self.inner.size(key).await
    }
    async fn metadata(&self, key: &Key) -> Result<Metadata, KvError> {
        self.inner.metadata(key).await
    }
}

#[test]
fn large_bodies_are_lent_regions_small_ones_and_head_are_not() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let gz: Vec<u8> = (0..50_000u32).map(|i| (i % 13) as u8).collect();
    let (mut sim, kv) = site(&[
        ("big.bin", &big),
        ("page.html", &big[..40_000]),
        ("page.html.gz", &gz),
        ("small.txt", &big[..1000]),
    ]);
    let lending = Lending::new(kv);
    let s = StaticSite::new(&lending);
    let respond = |sim: &mut Simulation, request: &str| {
        let Ok(Status::Complete((head, _))) = parse_head(request.as_bytes(), &Limits::default())
        else {
            panic!("bad test request {request:?}")
        };
        sim.block_on(s.respond(&head)).unwrap()
    };

    let r = respond(&mut sim, &req("/big.bin"));
    assert!(matches!(&r.body, Body::Region(r) if (r.start(), r.len()) == (0, 200_000)));
    let (_, body) = get(&mut sim, &s, &req("/big.bin"));
    assert!(body == big, "the whole file");

    let ranged = "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=1000-99999\r\n\r\n";
    let r = respond(&mut sim, ranged);
    assert_eq!(r.status, 206);
    assert!(matches!(&r.body, Body::Region(r) if (r.start(), r.len()) == (1000, 99_000)));
    let (_, body) = get(&mut sim, &s, ranged);
    assert!(body == big[1000..100_000], "the range");

    let gzipped = "GET /page.html HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n";
    let r = respond(&mut sim, gzipped);
    assert_eq!(hdr(&r, "content-encoding"), Some("gzip"));
    assert!(matches!(&r.body, Body::Region(r) if r.len() == 50_000));
    let (_, body) = get(&mut sim, &s, gzipped);
    assert!(body == gz, "the gzip sibling");

    // A small range of a large file, a small file, and HEAD: no region.
    let before = lending.lent.get();
    let small_range = "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-99\r\n\r\n";
    let (r, body) = get(&mut sim, &s, small_range);
    assert_eq!((r.status, &body[..]), (206, &big[..100]));
    let (_, body) = get(&mut sim, &s, &req("/small.txt"));
    assert_eq!(&body[..], &big[..1000]);
    let r = respond(&mut sim, "HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.body.len(), Some(200_000));
    assert!(!matches!(r.body, Body::Region(_)));
    assert_eq!(lending.lent.get(), before, "nothing more was lent");
}

#[test]
fn lent_regions_go_over_the_server_after_their_head() {
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let (_, kv) = site(&[("big.bin", &big)]);
    let lending = Lending::new(kv);
    let site = StaticSite::new(&lending);
    let expected = big.clone();
    run(site, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        // Larger than one piece of a region send: several sends, in order.
        let resp = exchange(&mut flow, b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-length"), Some("700000"));
        assert!(resp.body == expected);
        let resp = exchange(
            &mut flow,
            b"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=300000-\r\n\r\n",
        )
        .await;
        assert_eq!(resp.status, 206);
        assert!(resp.body == expected[300_000..]);
        // The connection stays usable after region bodies.
        let resp = exchange(&mut flow, b"HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(resp.header("content-length"), Some("700000"));
        assert!(resp.body.is_empty());
    });
    assert_eq!(lending.lent.get(), 2);
}

#[test]
fn a_region_that_shrinks_aborts_its_connection() {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (_, kv) = site(&[("big.bin", &big)]);
    let lending = Lending::new(kv);
    lending.shrink.set(true);
    let site = StaticSite::new(&lending);
    run(site, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        flow.write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        // The head announces 300 000 bytes; 150 000 come, then the end.
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match flow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let head_len = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let text = String::from_utf8_lossy(&got[..head_len]).into_owned();
        assert!(text.contains("Content-Length: 300000"), "{text}");
        assert!(got[head_len..] == big[..150_000]);
    });
}
