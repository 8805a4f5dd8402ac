//! Never-panic and round-trip properties of every parser that reads bytes
//! from a peer or a user, and the HTTP body framings through an in-memory
//! server.

use futures::executor::block_on;
use mirage_core::mem::{MemInternet, Simulation};
use mirage_core::{Stack, TcpFlow, TcpListener};
use mirage_git::error::HttpError;
use mirage_git::io::{Input, SliceInput};
use mirage_git::pack::delta;
use mirage_git::pktline::{self, PktReader};
use mirage_git::protocol::{receive_pack, v2};
use mirage_git::transport::http;
use mirage_git::{Error, Url};
use quickcheck::QuickCheck;

/// Arbitrary byte strings as a sequence of data packets with a final flush.
fn packets(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        let c = &c[..c.len().min(pktline::MAX_DATA_LEN)];
        pktline::encode_data(c, &mut out).unwrap();
    }
    pktline::encode(pktline::Packet::Flush, &mut out).unwrap();
    out
}

#[test]
fn protocol_readers_never_panic() {
    fn prop(chunks: Vec<Vec<u8>>, raw: Vec<u8>) -> bool {
        for wire in [packets(&chunks), raw.clone()] {
            let mut r = PktReader::new(SliceInput::new(&wire, 0));
            let _ = block_on(v2::read_capabilities(&mut r));
            let mut r = PktReader::new(SliceInput::new(&wire, 0));
            let _ = block_on(v2::read_ls_refs(&mut r));
            let mut r = PktReader::new(SliceInput::new(&wire, 0));
            let _ = block_on(v2::read_fetch_response(&mut r, 1 << 20, &mut |_| {}));
            let mut r = PktReader::new(SliceInput::new(&wire, 0));
            let _ = block_on(receive_pack::read_advertisement(&mut r));
            for sideband in [false, true] {
                let mut r = PktReader::new(SliceInput::new(&wire, 0));
                let _ = block_on(receive_pack::read_report(&mut r, sideband, &mut |_| {}));
            }
        }
        let _ = receive_pack::parse_report(&chunks);
        for c in &chunks {
            let _ = v2::parse_ref_line(c);
        }
        true
    }
    QuickCheck::new()
        .tests(1000)
        .quickcheck(prop as fn(Vec<Vec<u8>>, Vec<u8>) -> bool);
}

#[test]
fn text_parsers_never_panic() {
    fn prop(s: String, bytes: Vec<u8>) -> bool {
        let _ = Url::parse(&s);
        let _ = http::parse_head(s.as_bytes());
        let _ = http::parse_head(&bytes);
        let _ = delta::apply(&bytes, s.as_bytes(), 1 << 20);
        let _ = delta::apply(s.as_bytes(), &bytes, 1 << 20);
        true
    }
    QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(String, Vec<u8>) -> bool);
}

#[test]
fn url_display_parses_back() {
    fn prop(a: u8, b: u8, port: u16, path: Vec<u8>, http: bool) -> bool {
        let path: String = path.iter().map(|b| char::from(b'a' + b % 26)).collect();
        let port = port.max(1);
        let scheme = if http { "http" } else { "git" };
        let s = format!("{scheme}://127.{a}.{b}.1:{port}/{path}x.git");
        let url = Url::parse(&s).unwrap();
        Url::parse(&url.to_string()).unwrap() == url && url.to_string() == s
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(u8, u8, u16, Vec<u8>, bool) -> bool);
}

/// Serves one canned HTTP response on an in-memory host, written in pieces
/// of `piece` bytes, and returns what the client's body reader produced.
fn http_body(response: &'static [u8], piece: usize) -> Result<Vec<u8>, Error> {
    let mut sim = Simulation::new(3);
    let net = MemInternet::new();
    let client = net.host(["10.0.0.1".parse().unwrap()]);
    let server = net.host(["10.0.0.2".parse().unwrap()]);
    let listener = sim
        .block_on(server.tcp_listen("10.0.0.2:80".parse().unwrap()))
        .unwrap()
        .unwrap();
    sim.spawn(async move {
        let mut flow = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let mut seen = Vec::new();
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = flow.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
        for chunk in response.chunks(piece) {
            flow.write_all(chunk).await.unwrap();
        }
        flow.close().await.unwrap();
    });
    sim.block_on(async {
        let req = http::Request {
            method: "GET",
            path: "/x",
            host: "10.0.0.2",
            headers: &[],
            body: &[],
        };
        let (head, mut body) = http::send(&client, "10.0.0.2:80".parse().unwrap(), &req).await?;
        assert_eq!(head.status, 200);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = body.read(&mut buf).await?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    })
    .unwrap()
}

#[test]
fn http_bodies_in_every_framing() {
    for piece in [1, 3, 1000] {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n";
        assert_eq!(http_body(chunked, piece).unwrap(), b"hello world");
        let length = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        assert_eq!(http_body(length, piece).unwrap(), b"hello");
        let close = b"HTTP/1.0 200 OK\r\n\r\nuntil the end";
        assert_eq!(http_body(close, piece).unwrap(), b"until the end");
    }
    let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
    assert!(matches!(
        http_body(bad, 4),
        Err(Error::Transport(mirage_git::error::TransportError::Http(
            HttpError::BadChunk
        )))
    ));
    let short = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello";
    assert!(matches!(
        http_body(short, 4),
        Err(Error::Transport(mirage_git::error::TransportError::Http(
            HttpError::TruncatedBody
        )))
    ));
    let no_crlf =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n";
    assert!(http_body(no_crlf, 4).is_err());
}
