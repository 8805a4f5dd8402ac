//! Git's copy/insert deltas (mirage-git's `pack::delta`): applying any delta
//! to any base gives an error or a result of exactly the size the delta
//! announces, never more than the bound, never a panic.
//!
//! Input layout: a little-endian `u16` base length, the base, the delta.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_git::pack::delta::{apply, result_size};

const MAX_LEN: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (base, delta) = rest.split_at(len);
    if let Ok(out) = apply(base, delta, MAX_LEN) {
        assert!(out.len() as u64 <= MAX_LEN, "result over the bound");
        assert_eq!(result_size(delta), Ok(out.len() as u64), "result size differs from the announced one");
    }
});
