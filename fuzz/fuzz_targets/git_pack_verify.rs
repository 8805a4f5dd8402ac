//! A pack as received from a remote (mirage-git's `pack::verify`): parsed
//! whole in memory, entries inflated within the limits, deltas resolved,
//! ids computed, commits, trees and tags decoded. Any bytes give a verified
//! pack or an error, never a panic and never more than the limits allow;
//! every object of a verified pack hashes to its id.
//!
//! Input: a pack without its trailing SHA-1, which the harness appends, so
//! that mutations reach the parser instead of stopping at the checksum.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_git::pack::{Limits, verify};
use mirage_git::store::{MemStore, object_id};
use sha1::{Digest, Sha1};

/// Small limits, so every one of them is reachable.
const LIMITS: Limits = Limits {
    max_pack_bytes: 1 << 20,
    max_objects: 1 << 10,
    max_object_bytes: 1 << 20,
    max_total_bytes: 4 << 20,
    max_delta_depth: 64,
};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    bytes.extend_from_slice(&Sha1::digest(data));
    let store = MemStore::new();
    let Ok(pack) = verify(&bytes, &LIMITS, &store) else {
        return;
    };
    for object in &pack.objects {
        assert!(object.data.len() as u64 <= LIMITS.max_object_bytes, "object over the limit");
        assert_eq!(object_id(object.kind, &object.data), Some(object.id), "id does not match the data");
    }
    let _ = pack.store_into(&store);
});
