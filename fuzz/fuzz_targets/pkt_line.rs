//! The pkt-line framing: the stateless decoder and the buffered `PktReader`
//! fed in reads of a fuzzer-chosen size. Any bytes give packets and then a
//! clean end, a partial packet or an error, never a panic; each decoded
//! packet encodes to a packet that decodes the same; a proper prefix of a
//! packet is "need more"; and the reader yields exactly the packets the
//! decoder does, however the stream is cut into reads.

#![no_main]

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use mirage_git::io::SliceInput;
use mirage_git::pktline::{self, Line, Packet, PktReader};

/// How a stream of packets ends.
#[derive(Debug, PartialEq)]
enum End {
    /// Between two packets, at the end of the input.
    Clean,
    /// Inside a packet (the decoder wants more), or at a malformed header.
    Broken,
}

fn owned(p: Packet<'_>) -> Line {
    match p {
        Packet::Flush => Line::Flush,
        Packet::Delim => Line::Delim,
        Packet::ResponseEnd => Line::End,
        Packet::Data(d) => Line::Data(d.to_vec()),
    }
}

fn decode_all(mut input: &[u8]) -> (Vec<Line>, End) {
    let mut lines = Vec::new();
    loop {
        match pktline::decode(input) {
            Ok(Some((packet, used))) => {
                assert!(used >= 4 && used <= input.len(), "used {used} of {}", input.len());
                assert_eq!(used, packet.wire_len(), "wire length disagrees with bytes used");
                // A proper prefix is never a packet.
                assert_eq!(pktline::decode(&input[..used - 1]), Ok(None), "prefix decoded");
                let mut out = Vec::new();
                pktline::encode(packet, &mut out).expect("a decoded packet encodes");
                assert_eq!(pktline::decode(&out), Ok(Some((packet, used))), "re-encoding changed it");
                // The header may use upper-case hex; otherwise the bytes are the same.
                assert!(out.eq_ignore_ascii_case(&input[..used]), "re-encoded bytes differ");
                lines.push(owned(packet));
                input = &input[used..];
            }
            Ok(None) if input.is_empty() => return (lines, End::Clean),
            Ok(None) | Err(_) => return (lines, End::Broken),
        }
    }
}

fn read_all(input: &[u8], chunk: usize) -> (Vec<Line>, End) {
    let mut reader = PktReader::new(SliceInput::new(input, chunk));
    let mut lines = Vec::new();
    block_on(async {
        loop {
            match reader.read_packet_or_eof().await {
                Ok(Some(p)) => lines.push(owned(p)),
                Ok(None) => return (lines, End::Clean),
                Err(_) => return (lines, End::Broken),
            }
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte sets the read size (0: as much as fits).
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let decoded = decode_all(stream);
    let read = read_all(stream, chunk as usize);
    assert_eq!(read, decoded, "PktReader in reads of {chunk} disagrees with decode");
});
