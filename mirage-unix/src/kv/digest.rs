//! Content digests of values and dictionaries.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use mirage_core::{EntryKind, KvError};
use sha2::{Digest as _, Sha256};

use super::{DirKv, io_err};

/// SHA-256 of the file's bytes, or, for a directory, of a tag
/// (`dirkv dictionary` and a NUL) and its sorted entries (kind byte `v` or `d`, the name's length as 8 bytes little-endian, the
/// name, the entry's 32-byte digest).
pub(super) fn of(kv: &DirKv, path: &Path, kind: EntryKind) -> Result<[u8; 32], KvError> {
    let mut h = Sha256::new();
    match kind {
        EntryKind::Value => {
            let mut f = File::open(path).map_err(|e| io_err(path, e))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => h.update(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_err(path, e)),
                }
            }
        }
        EntryKind::Dictionary => {
            h.update(b"dirkv dictionary\0");
            for e in kv.entries(path)? {
                h.update(match e.kind {
                    EntryKind::Value => b"v",
                    EntryKind::Dictionary => b"d",
                });
                h.update((e.name.len() as u64).to_le_bytes());
                h.update(e.name.as_bytes());
                h.update(of(kv, &e.path, e.kind)?);
            }
        }
    }
    Ok(h.finalize().into())
}
