//! Packfiles (gitformat-pack): [`read`] parses, resolves and verifies a
//! received pack entirely before any object is handed to a store; [`mod@write`]
//! builds the simple, delta-free packs a push sends; [`delta`] applies
//! Git's copy/insert deltas.
//!
//! The reader is our own rather than gix-pack's: it works on a pack held in
//! memory (the fetch already bounds its size), applies the [`Limits`] before
//! every allocation, and needs no index file or threads.

pub mod delta;
pub mod read;
pub mod write;

pub use read::{PackObject, VerifiedPack, verify};
pub use write::write_pack;

/// Bounds on what a received pack may make us allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest pack in bytes (default 1 GiB).
    pub max_pack_bytes: u64,
    /// Most objects in one pack (default 10 million).
    pub max_objects: u64,
    /// Largest single object (or delta) in bytes, inflated (default 512 MiB).
    pub max_object_bytes: u64,
    /// Largest sum of all inflated objects and deltas (default 4 GiB).
    pub max_total_bytes: u64,
    /// Deepest delta chain (default 10000; git writes at most 4095).
    pub max_delta_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pack_bytes: 1 << 30,
            max_objects: 10_000_000,
            max_object_bytes: 512 << 20,
            max_total_bytes: 4 << 30,
            max_delta_depth: 10_000,
        }
    }
}

/// Pack entry type numbers.
pub(crate) mod entry_type {
    pub const COMMIT: u8 = 1;
    pub const TREE: u8 = 2;
    pub const BLOB: u8 = 3;
    pub const TAG: u8 = 4;
    pub const OFS_DELTA: u8 = 6;
    pub const REF_DELTA: u8 = 7;
}
