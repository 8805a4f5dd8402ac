//! Git object decoding as the store reads it. The first byte picks the input
//! form: a zlib-compressed loose object file (`<kind> <size>\0<data>`, as
//! under `.git/objects/`), or the canonical bytes of a tree, commit or tag.
//! Either way: an error or an object, never a panic, never more than the
//! size limit.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mirage_irmin::backend::fs::loose;
use mirage_irmin::object::encode;
use mirage_irmin::{HashKind, ObjectId, ObjectKind, RawObject};

/// The size limit the store uses by default is larger; a small one keeps
/// the fuzzer's memory low while still reaching the size checks.
const MAX_SIZE: u64 = 1 << 20;

/// Decodes `raw` as its kind says. A tree then takes the store's path for
/// modified trees: entries sorted (as `write_tree` does) and encoded, which
/// may fail with an error (a name encoding refuses) but must not panic.
fn decode_raw(raw: RawObject) {
    let id = ObjectId::null(HashKind::Sha1);
    let hash = HashKind::Sha1;
    match raw.kind {
        ObjectKind::Tree => {
            if let Ok(mut tree) = raw.into_tree(&id, hash) {
                tree.entries.sort();
                let _ = encode(&tree);
            }
        }
        ObjectKind::Commit => {
            let _ = raw.into_commit(&id, hash);
        }
        ObjectKind::Tag => {
            let _ = raw.into_tag(&id, hash);
        }
        ObjectKind::Blob => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let id = ObjectId::null(HashKind::Sha1);
    match pick % 4 {
        0 => {
            if let Ok(raw) = loose::decode(rest, Path::new("fuzz"), &id, MAX_SIZE) {
                assert!(raw.data.len() as u64 <= MAX_SIZE, "object over the size limit");
                decode_raw(raw);
            }
        }
        1 => decode_raw(RawObject { kind: ObjectKind::Tree, data: rest.to_vec().into() }),
        2 => decode_raw(RawObject { kind: ObjectKind::Commit, data: rest.to_vec().into() }),
        _ => decode_raw(RawObject { kind: ObjectKind::Tag, data: rest.to_vec().into() }),
    }
});
