//! Property tests of the parser: generated requests, split anywhere.

use bytes::BytesMut;
use mirage_http::parse::{Limits, Progress, RequestParser, parse_head};
use mirage_http::{Method, Request, Version};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult, quickcheck};

/// A valid request and the bytes that encode it.
#[derive(Debug, Clone)]
struct Valid {
    method: &'static str,
    target: String,
    version: Version,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunks: Option<Vec<usize>>,
    trailers: Vec<(String, String)>,
}

const TCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";

fn pick<T: Copy>(g: &mut Gen, xs: &[T]) -> T {
    *g.choose(xs).unwrap()
}

fn token(g: &mut Gen) -> String {
    let n = 1 + usize::arbitrary(g) % 12;
    (0..n).map(|_| pick(g, TCHARS) as char).collect()
}

fn field_value(g: &mut Gen) -> String {
    let n = usize::arbitrary(g) % 20;
    let s: String = (0..n)
        .map(|_| {
            let b = 0x20 + u8::arbitrary(g) % 0x5f;
            b as char
        })
        .collect();
    s.trim().to_owned()
}

impl Arbitrary for Valid {
    fn arbitrary(g: &mut Gen) -> Self {
        let method = pick(
            g,
            &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PURGE"],
        );
        let segs = usize::arbitrary(g) % 4;
        let mut target: String = (0..segs).map(|_| format!("/{}", token(g))).collect();
        if target.is_empty() {
            target.push('/');
        }
        if bool::arbitrary(g) {
            target.push_str(&format!("?{}={}", token(g), token(g)));
        }
        let version = if bool::arbitrary(g) {
            Version::Http11
        } else {
            Version::Http10
        };
        let mut headers = Vec::new();
        if version == Version::Http11 || bool::arbitrary(g) {
            headers.push(("Host".to_owned(), "example.org".to_owned()));
        }
        for _ in 0..usize::arbitrary(g) % 6 {
            let name = format!("X-{}", token(g));
            headers.push((name, field_value(g)));
        }
        let body: Vec<u8> = if bool::arbitrary(g) {
            Vec::arbitrary(g)
        } else {
            Vec::new()
        };
        let mut chunks = None;
        let mut trailers = Vec::new();
        if version == Version::Http11 && bool::arbitrary(g) {
            headers.push(("Transfer-Encoding".to_owned(), "chunked".to_owned()));
            let mut sizes = Vec::new();
            let mut left = body.len();
            while left > 0 {
                let n = 1 + usize::arbitrary(g) % left;
                sizes.push(n);
                left -= n;
            }
            chunks = Some(sizes);
            for _ in 0..usize::arbitrary(g) % 3 {
                trailers.push((format!("T-{}", token(g)), field_value(g)));
            }
        } else if !body.is_empty() || bool::arbitrary(g) {
            headers.push(("Content-Length".to_owned(), body.len().to_string()));
        }
        Valid {
            method,
            target,
            version,
            headers,
            body,
            chunks,
            trailers,
        }
    }
}

impl Valid {
    fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} {}\r\n",
            self.method,
            self.target,
            self.version.as_str()
        )
        .into_bytes();
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        match &self.chunks {
            None => out.extend_from_slice(&self.body),
            Some(sizes) => {
                let mut at = 0;
                for (i, n) in sizes.iter().enumerate() {
                    // Vary the case of hex digits and add an extension now and then.
                    let size = if i % 2 == 0 {
                        format!("{n:x}")
                    } else {
                        format!("{n:X};ext=v")
                    };
                    out.extend_from_slice(format!("{size}\r\n").as_bytes());
                    out.extend_from_slice(&self.body[at..at + n]);
                    out.extend_from_slice(b"\r\n");
                    at += n;
                }
                out.extend_from_slice(b"0\r\n");
                for (n, v) in &self.trailers {
                    out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    fn matches(&self, r: &Request) -> bool {
        r.method == Method::from_token(self.method)
            && r.target == self.target
            && r.version == self.version
            && r.headers.len() == self.headers.len()
            && self
                .headers
                .iter()
                .zip(r.headers.iter())
                .all(|((n, v), (rn, rv))| n.eq_ignore_ascii_case(rn) && v.as_bytes() == rv)
            && r.body[..] == self.body[..]
            && r.trailers.len() == self.trailers.len()
    }
}

/// Feeds `input` in pieces cut at `cuts`, collecting every request.
fn feed(input: &[u8], cuts: &[usize]) -> Result<Vec<Request>, mirage_http::Error> {
    match feed_all(input, cuts) {
        (requests, None) => Ok(requests),
        (_, Some(e)) => Err(e),
    }
}

/// Like [`feed`], keeping the requests parsed before an error.
fn feed_all(input: &[u8], cuts: &[usize]) -> (Vec<Request>, Option<mirage_http::Error>) {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut at = 0;
    for p in points {
        buf.extend_from_slice(&input[at..p]);
        at = p;
        loop {
            match parser.advance(&mut buf) {
                Err(e) => return (out, Some(e)),
                Ok(Progress::NeedMore) => break,
                Ok(Progress::AwaitingBody { .. }) => {}
                Ok(Progress::Request(r)) => out.push(r),
            }
        }
    }
    (out, None)
}

quickcheck! {
    fn generated_requests_round_trip(req: Valid) -> bool {
        match feed(&req.encode(), &[]) {
            Ok(rs) => rs.len() == 1 && req.matches(&rs[0]),
            Err(e) => panic!("{e}: {:?}", String::from_utf8_lossy(&req.encode())),
        }
    }

    fn any_split_parses_the_same(req: Valid, cuts: Vec<usize>) -> bool {
        let bytes = req.encode();
        let whole = feed(&bytes, &[]).unwrap();
        feed(&bytes, &cuts).unwrap() == whole
    }

    fn pipelined_requests_all_parse(reqs: Vec<Valid>, cuts: Vec<usize>) -> TestResult {
        if reqs.len() > 8 {
            return TestResult::discard();
        }
        let bytes: Vec<u8> = reqs.iter().flat_map(Valid::encode).collect();
        let got = feed(&bytes, &cuts).unwrap();
        TestResult::from_bool(got.len() == reqs.len() && reqs.iter().zip(&got).all(|(v, r)| v.matches(r)))
    }

    fn never_panics_on_arbitrary_bytes(bytes: Vec<u8>, cuts: Vec<usize>) -> bool {
        let _ = parse_head(&bytes, &Limits::default());
        let _ = feed(&bytes, &cuts);
        true
    }

    fn never_panics_on_mutated_requests(req: Valid, at: usize, byte: u8, cuts: Vec<usize>) -> bool {
        let mut bytes = req.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        // Splitting never changes the requests parsed nor the error found;
        // only an error inside a line still unfinished at the end of the
        // input may not be seen yet (it is, once the line ends or a limit
        // or timeout is reached).
        let (whole, whole_err) = feed_all(&bytes, &[]);
        let (split, split_err) = feed_all(&bytes, &cuts);
        whole == split && (whole_err == split_err || split_err.is_none())
    }
}

#[test]
fn byte_at_a_time_equals_whole() {
    fn prop(req: Valid) -> bool {
        let bytes = req.encode();
        let cuts: Vec<usize> = (0..bytes.len()).collect();
        feed(&bytes, &cuts).unwrap() == feed(&bytes, &[]).unwrap()
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Valid) -> bool);
}
