//! The HTTP/1.1 request parser as the server drives it: a stream of
//! (pipelined) requests pushed through `RequestParser`. Any bytes give
//! requests or an error, never a panic; and the same bytes arriving in two
//! pieces, split where the fuzzer chooses, give exactly the same requests,
//! the same error and the same leftover bytes as arriving whole.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mirage_http::Error;
use mirage_http::parse::{Limits, Progress, RequestParser};

/// Small limits, so that every limit is reachable by short inputs.
const LIMITS: Limits = Limits {
    max_uri: 64,
    max_head: 512,
    max_headers: 8,
    max_body: 1024,
};

/// What a stream of bytes turned into.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    events: Vec<Progress>,
    error: Option<Error>,
    leftover: Vec<u8>,
}

/// Advances until the parser needs more input or fails; `false` after an error.
fn drain(parser: &mut RequestParser, buf: &mut BytesMut, out: &mut Outcome) -> bool {
    loop {
        match parser.advance(buf) {
            Ok(Progress::NeedMore) => return true,
            Ok(p) => out.events.push(p),
            Err(e) => {
                out.error = Some(e);
                return false;
            }
        }
    }
}

fn run(pieces: &[&[u8]]) -> Outcome {
    let mut parser = RequestParser::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut out = Outcome::default();
    let mut failed = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        // After an error the rest is not parsed, only kept as leftover.
        if !failed {
            failed = !drain(&mut parser, &mut buf, &mut out);
        }
    }
    out.leftover = buf.to_vec();
    out
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the split point; the rest is the stream.
    if data.len() < 2 {
        return;
    }
    let (split, stream) = data.split_at(2);
    let at = usize::from(u16::from_le_bytes([split[0], split[1]])) % (stream.len() + 1);

    let whole = run(&[stream]);
    for r in &whole.events {
        if let Progress::Request(r) = r {
            assert!(r.body.len() as u64 <= LIMITS.max_body, "body over the limit");
        }
    }
    let (a, b) = stream.split_at(at);
    let split = run(&[a, b]);
    assert_eq!(split, whole, "split at {at} parses differently from whole");
});
