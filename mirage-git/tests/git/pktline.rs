//! Properties of the pkt-line codec.

use futures::executor::block_on;
use mirage_git::io::SliceInput;
use mirage_git::pktline::{self, Line, MAX_DATA_LEN, Packet, PktReader};
use quickcheck::{QuickCheck, TestResult};

/// A packet as quickcheck generates it: `None` is a flush, `Some(0..)` data.
fn encode_all(packets: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        match p {
            None => pktline::encode(Packet::Flush, &mut out).unwrap(),
            Some(d) => pktline::encode_data(d, &mut out).unwrap(),
        }
    }
    out
}

fn decode_all(mut input: &[u8]) -> Result<Vec<Option<Vec<u8>>>, ()> {
    let mut out = Vec::new();
    while !input.is_empty() {
        match pktline::decode(input) {
            Ok(Some((Packet::Flush, used))) => {
                out.push(None);
                input = &input[used..];
            }
            Ok(Some((Packet::Data(d), used))) => {
                out.push(Some(d.to_vec()));
                input = &input[used..];
            }
            Ok(Some((_, used))) => input = &input[used..],
            Ok(None) | Err(_) => return Err(()),
        }
    }
    Ok(out)
}

#[test]
fn round_trip() {
    fn prop(packets: Vec<Option<Vec<u8>>>) -> bool {
        let wire = encode_all(&packets);
        decode_all(&wire) == Ok(packets)
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(Vec<Option<Vec<u8>>>) -> bool);
}

#[test]
fn never_panics_on_arbitrary_bytes() {
    fn prop(bytes: Vec<u8>, chunk: u8) -> bool {
        // Through the decoder and through the buffered reader.
        let _ = decode_all(&bytes);
        let mut reader = PktReader::new(SliceInput::new(&bytes, usize::from(chunk)));
        block_on(async {
            for _ in 0..bytes.len() + 1 {
                match reader.read_raw().await {
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        true
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Vec<u8>, u8) -> bool);
}

#[test]
fn hex_headers_with_garbage_never_panic() {
    // Headers that look valid are more interesting than random bytes.
    fn prop(len: u16, tail: Vec<u8>) -> bool {
        let mut bytes = format!("{len:04x}").into_bytes();
        bytes.extend_from_slice(&tail);
        let r = pktline::decode(&bytes);
        match (len, r) {
            (3, r) => r.is_err(),
            (l, r) if usize::from(l) > pktline::MAX_PKT_LEN => r.is_err(),
            (l, Ok(Some((_, used)))) => used == usize::from(l).max(4) && used <= bytes.len(),
            (l, Ok(None)) => usize::from(l) > bytes.len(),
            (_, Err(_)) => false,
        }
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(u16, Vec<u8>) -> bool);
}

#[test]
fn any_split_parses_the_same() {
    fn prop(packets: Vec<Option<Vec<u8>>>, chunk: u8) -> TestResult {
        if chunk == 0 {
            return TestResult::discard();
        }
        let wire = encode_all(&packets);
        let mut reader = PktReader::new(SliceInput::new(&wire, usize::from(chunk)));
        let got = block_on(async {
            let mut got = Vec::new();
            while let Some(p) = reader.read_packet_or_eof().await.unwrap() {
                got.push(match p {
                    Packet::Flush => None,
                    Packet::Data(d) => Some(d.to_vec()),
                    _ => unreachable!(),
                });
            }
            got
        });
        TestResult::from_bool(got == packets)
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(Vec<Option<Vec<u8>>>, u8) -> TestResult);
}

#[test]
fn largest_packets_pass_through_the_reader() {
    let big = vec![b'x'; MAX_DATA_LEN];
    let wire = encode_all(&[Some(big.clone()), Some(big.clone()), None]);
    let mut reader = PktReader::new(SliceInput::new(&wire, 1000));
    block_on(async {
        assert_eq!(reader.read_raw().await.unwrap(), Line::Data(big.clone()));
        assert_eq!(reader.read_raw().await.unwrap(), Line::Data(big));
        assert_eq!(reader.read_raw().await.unwrap(), Line::Flush);
        assert!(reader.read_packet_or_eof().await.unwrap().is_none());
    });
    // A stream cut inside a packet is an error, not a clean end.
    let mut reader = PktReader::new(SliceInput::new(&wire[..100], 0));
    assert!(block_on(reader.read_raw()).is_err());
}
