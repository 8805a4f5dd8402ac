//! XenStore replies as read from the ring: a byte stream reassembled into
//! messages by `Decoder` and their payloads read by the `parse_*`
//! functions. Any bytes give messages and then "need more" or an error,
//! never a panic; the bytes arriving in two pieces, split where the fuzzer
//! chooses, give the same messages as arriving whole; every message encodes
//! back to its own bytes; and permissions print back to what they parsed from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_xen::xenstore::Permission;
use mirage_xen::xenstore::wire::{
    Decoder, Message, WireError, parse_ok, parse_perms, parse_strings, parse_tx_id,
    parse_watch_event,
};

/// Messages decoded from `pieces`, pushed one after the other, and how the
/// stream ended: `Ok(())` waiting for more bytes, or the error.
fn decode(pieces: &[&[u8]]) -> (Vec<Message>, Result<(), WireError>) {
    let mut decoder = Decoder::new();
    let mut messages = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(m)) => messages.push(m),
                Ok(None) => break,
                Err(e) => return (messages, Err(e)),
            }
        }
    }
    (messages, Ok(()))
}

fuzz_target!(|data: &[u8]| {
    let Some((split, stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let at = usize::from(u16::from_le_bytes(*split)) % (stream.len() + 1);
    let whole = decode(&[stream]);
    let (a, b) = stream.split_at(at);
    assert_eq!(decode(&[a, b]), whole, "split at {at} decodes differently");

    let mut offset = 0;
    for m in &whole.0 {
        let bytes = m.encode();
        assert_eq!(bytes, stream[offset..offset + bytes.len()], "message does not encode to its bytes");
        offset += bytes.len();
        let _ = m.error();
        let _ = parse_ok(&m.payload);
        let _ = parse_tx_id(&m.payload);
        let _ = parse_strings(&m.payload);
        let _ = parse_watch_event(&m.payload);
        if let Ok(perms) = parse_perms(&m.payload) {
            for p in perms {
                assert_eq!(Permission::parse(&p.to_wire()), Ok(p), "permission changed in print");
            }
        }
    }
});
