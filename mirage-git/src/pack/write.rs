//! Writing a pack without deltas: the `PACK` header, each object as a type
//! and size header followed by its zlib-compressed bytes, and the SHA-1 of
//! all that as trailer. Every Git server accepts such packs.

use std::io::Write as _;

use gix_zlib::Compression;
use gix_zlib::stream::deflate;

use super::entry_type;
use crate::store::ObjectKind;

/// Why a pack could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// More than 2^32 - 1 objects.
    #[error("a pack holds at most 4294967295 objects")]
    TooManyObjects,
    /// The iterator yielded another number of objects than announced.
    #[error("{announced} objects announced, {written} written")]
    CountMismatch {
        /// The count given.
        announced: usize,
        /// The objects written.
        written: usize,
    },
    /// Compressing failed.
    #[error("compression failed: {0}")]
    Compress(#[source] std::io::Error),
    /// The checksum could not be computed.
    #[error("the pack checksum could not be computed")]
    Checksum,
}

fn type_number(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Commit => entry_type::COMMIT,
        ObjectKind::Tree => entry_type::TREE,
        ObjectKind::Blob => entry_type::BLOB,
        ObjectKind::Tag => entry_type::TAG,
    }
}

/// Builds a pack of `count` objects, given as kind and canonical bytes.
pub fn write_pack<'a>(
    objects: impl IntoIterator<Item = (ObjectKind, &'a [u8])>,
    count: usize,
) -> Result<Vec<u8>, WriteError> {
    let count32 = u32::try_from(count).map_err(|_| WriteError::TooManyObjects)?;
    let mut out = Vec::new();
    out.extend_from_slice(b"PACK");
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&count32.to_be_bytes());
    let mut written = 0;
    for (kind, data) in objects {
        written += 1;
        let mut size = data.len() as u64;
        let mut byte = (type_number(kind) << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            out.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        out.push(byte);
        let mut z = deflate::Write::new(out, Compression::DEFAULT);
        z.write_all(data).map_err(WriteError::Compress)?;
        // Flushing finishes the zlib stream.
        z.flush().map_err(WriteError::Compress)?;
        out = z.into_inner();
    }
    if written != count {
        return Err(WriteError::CountMismatch {
            announced: count,
            written,
        });
    }
    let mut hasher = gix_hash::hasher(gix_hash::Kind::Sha1);
    hasher.update(&out);
    let sum = hasher.try_finalize().map_err(|_| WriteError::Checksum)?;
    out.extend_from_slice(sum.as_bytes());
    Ok(out)
}
