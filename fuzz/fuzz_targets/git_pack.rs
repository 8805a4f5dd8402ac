//! Pack files with their index, read as the store reads `objects/pack/`:
//! load the `.idx` + `.pack` pair, list the ids, decode every object
//! (resolving offset and reference deltas). Damaged files give an error,
//! never a panic.
//!
//! Input layout: a little-endian `u32` length `n`, then `n` bytes of `.idx`,
//! then the `.pack`. The pair is written to a per-process directory (on
//! `/dev/shm` when present) because packs are memory-mapped from files.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mirage_irmin::HashKind;
use mirage_irmin::backend::fs::pack::PackSet;

/// Most objects decoded per input, to keep each run short.
const MAX_OBJECTS: usize = 256;

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() { base.to_owned() } else { std::env::temp_dir() };
    let dir = base.join(format!("mirage-fuzz-git-pack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the pack directory");
    dir
});

/// Replaces `name` in the pack directory by a rename, so a file still mapped
/// from an earlier input is never truncated under its mapping.
fn put(name: &str, bytes: &[u8]) {
    let tmp = DIR.join(format!("{name}.tmp"));
    std::fs::write(&tmp, bytes).expect("write a pack file");
    std::fs::rename(&tmp, DIR.join(name)).expect("rename a pack file");
}

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (idx, pack) = rest.split_at(len);
    put("pack-fuzz.idx", idx);
    put("pack-fuzz.pack", pack);

    // The bound the store applies (FsOptions::max_object_size), small here.
    let mut set = PackSet::with_alloc_limit(64 << 20);
    if set.refresh(&DIR, HashKind::Sha1).is_err() {
        return;
    }
    let ids = set.ids();
    for id in ids.iter().take(MAX_OBJECTS) {
        // A damaged index may list ids out of order, so that lookups miss
        // them: that is an answer, not a failure.
        let _ = set.contains(id);
        let _ = set.read(id);
    }
    let absent = mirage_irmin::ObjectId::null(HashKind::Sha1);
    let _ = set.read(&absent);
});
