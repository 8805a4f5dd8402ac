//! The HTTP/1.1 request parser as the server drives it: a stream of
//! (pipelined) requests pushed through `RequestParser`. Any bytes give
//! requests or an error, never a panic; and the same bytes arriving in two
//! pieces, split where the fuzzer chooses, give exactly the same requests,
//! the same error and the same leftover bytes as arriving whole (except that
//! an error in a head's unfinished line may wait for its line feed, as
//! `RequestParser` documents).

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
    // RequestParser parses a head again only when a line is completed or a
    // limit is crossed (its documented defence against heads dripped byte
    // by byte), so garbage arriving in a later piece without a line feed is
    // refused when the line ends, not at once: then the split run is still
    // waiting where the whole run has failed. Anything else must agree.
    let left = split.leftover.len();
    let deferred = split.error.is_none()
        && whole.error.is_some()
        && left >= b.len()
        && !b.contains(&b'\n')
        && !(left - b.len() <= LIMITS.max_uri && left > LIMITS.max_uri)
        && left <= LIMITS.max_head;
    if deferred {
        assert_eq!(split.events, whole.events, "split at {at} gives other requests");
        assert_eq!(split.leftover, whole.leftover, "split at {at} leaves other bytes");
    } else {
        assert_eq!(split, whole, "split at {at} parses differently from whole");
    }
});
