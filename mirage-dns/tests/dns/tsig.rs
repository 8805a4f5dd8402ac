//! TSIG properties: signed messages verify, any change to them is caught,
//! and no input makes the checks panic.

use mirage_dns::tsig::{Key, Keyring, Signer, TsigRcode, find_tsig, verify};
use quickcheck::{QuickCheck, TestResult};

use crate::arbitrary::ArbMessage;

fn key(alg: u8) -> Key {
    let a = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"][alg as usize % 4];
    Key::parse_triple(&format!("{a}:key.example:c2VjcmV0")).unwrap()
}

#[test]
fn signed_messages_verify_and_flips_are_caught() {
    fn prop(m: ArbMessage, alg: u8, now: u32, flip: (usize, u8)) -> TestResult {
        let mut bytes = Vec::new();
        m.0.emit(&mut bytes).unwrap();
        let k = key(alg);
        let mut ring = Keyring::new();
        ring.insert(k.clone()).unwrap();
        if Signer::new(k, Vec::new())
            .sign(&mut bytes, now as u64)
            .is_err()
        {
            return TestResult::discard();
        }
        let ok = matches!(verify(&ring, &bytes, now as u64 + 299), Ok(Some(_)));
        let (at, v) = (flip.0 % bytes.len(), flip.1.max(1));
        let tsig_at = find_tsig(&bytes).unwrap().unwrap().0;
        // The ID is replaced by the original ID (RFC 8945 §4.3.1), and the
        // key and algorithm names are compared and digested in lowercase.
        if at < 2 || (at >= tsig_at && v == 0x20) {
            return TestResult::discard();
        }
        bytes[at] ^= v;
        let caught = !matches!(verify(&ring, &bytes, now as u64), Ok(Some(_)));
        TestResult::from_bool(ok && caught)
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(ArbMessage, u8, u32, (usize, u8)) -> TestResult);
}

#[test]
fn tsig_checks_never_panic_on_arbitrary_bytes() {
    fn prop(bytes: Vec<u8>, alg: u8) -> bool {
        let mut ring = Keyring::new();
        ring.insert(key(alg)).unwrap();
        let _ = find_tsig(&bytes);
        if let Err(r) = verify(&ring, &bytes, 0)
            && bytes.len() >= 12
        {
            let mut answer = bytes[..12].to_vec();
            let _ = r.finish(&mut answer, 0);
        }
        let mut s = Signer::new(key(alg), Vec::new());
        let _ = s.verify_response(&bytes);
        true
    }
    QuickCheck::new()
        .tests(5000)
        .quickcheck(prop as fn(Vec<u8>, u8) -> bool);
}

#[test]
fn key_files_never_panic() {
    fn prop(text: String) -> bool {
        let _ = Keyring::parse_bind(&text);
        let _ = Key::parse_triple(&text);
        true
    }
    QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(String) -> bool);
}

#[test]
fn unknown_key_is_badkey() {
    let mut bytes = Vec::new();
    mirage_dns::wire::Message::default()
        .emit(&mut bytes)
        .unwrap();
    Signer::new(key(1), Vec::new())
        .sign(&mut bytes, 10)
        .unwrap();
    let r = verify(&Keyring::new(), &bytes, 10).unwrap_err();
    assert_eq!(r.error, TsigRcode::BADKEY);
}
