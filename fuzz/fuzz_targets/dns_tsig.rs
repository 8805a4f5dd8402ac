//! TSIG (RFC 8945) as the server meets it: a request's TSIG record found and
//! checked (`tsig::verify`) against a keyring, and key material read from
//! configuration (`Keyring::parse_bind`, `Key::parse_triple`). The first
//! byte picks the entry point. Any bytes give a verdict or an error, never a
//! panic; and a message we sign ourselves always verifies.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mirage_dns::tsig::{Key, Keyring, Signer, find_tsig, verify};
use mirage_dns::wire::Message;

/// The key of the seeds, as `dig -y` was given it.
const KEY: &str = "hmac-sha256:k.example.:c2VjcmV0LWtleS1mb3ItZnV6emluZy10c2lnLXNlZWRzLTAx";

static KEYS: LazyLock<(Keyring, Key)> = LazyLock::new(|| {
    let key = Key::parse_triple(KEY).expect("the seed key parses");
    let mut ring = Keyring::new();
    ring.insert(key.clone()).expect("one key fits");
    (ring, key)
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (ring, key) = &*KEYS;
    match pick % 4 {
        0 => {
            // Verify at the time the message says it was signed, so that
            // captured seeds reach the MAC check, and far from it.
            let now = match find_tsig(rest) {
                Ok(Some((_, _, tsig))) => tsig.time_signed,
                _ => 1_700_000_000,
            };
            let _ = verify(ring, rest, now);
            let _ = verify(ring, rest, now.wrapping_add(100_000));
        }
        1 => {
            // Any unsigned message that parses, signed by us, verifies.
            if Message::parse(rest).is_err() || !matches!(find_tsig(rest), Ok(None)) {
                return;
            }
            let mut msg = rest.to_vec();
            let now = 1_700_000_000;
            if Signer::new(key.clone(), Vec::new()).sign(&mut msg, now).is_err() {
                return;
            }
            match verify(ring, &msg, now) {
                Ok(Some(v)) => assert_eq!(v.time_signed, now),
                other => panic!("our own signature does not verify: {other:?}"),
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = Keyring::parse_bind(text);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = Key::parse_triple(text);
            }
        }
    }
});
