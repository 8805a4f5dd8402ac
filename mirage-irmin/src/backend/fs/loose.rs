//! Loose objects: one zlib-compressed file per object at
//! `objects/<first two hex digits>/<rest>`, holding `<kind> <size>\0<data>`.
//!
//! Writes go to a temporary file in `objects/` that is renamed into place, so
//! a reader (or a crash) never sees half an object.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gix_hash::{ObjectId, oid};

use super::io_err;
use crate::error::BackendError;
use crate::object::{ObjectKind, RawObject, loose_bytes};

/// Where the loose object `id` lives below `objects_dir`.
pub fn path_of(objects_dir: &Path, id: &oid) -> PathBuf {
    let hex = id.to_hex().to_string();
    objects_dir.join(&hex[..2]).join(&hex[2..])
}

/// Reads and inflates the loose object `id`; `None` if there is no such file.
pub fn read(
    objects_dir: &Path,
    id: &oid,
    max_size: u64,
) -> Result<Option<RawObject>, BackendError> {
    let path = path_of(objects_dir, id);
    let compressed = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read", &path, e)),
    };
    decode(&compressed, &path, id, max_size).map(Some)
}

fn corrupt(path: &Path, reason: &'static str) -> BackendError {
    BackendError::CorruptLoose {
        path: path.to_owned(),
        reason,
    }
}

/// Inflates a loose object file's bytes, checking header and size.
pub fn decode(
    compressed: &[u8],
    path: &Path,
    id: &oid,
    max_size: u64,
) -> Result<RawObject, BackendError> {
    // First the header, which fits in 64 bytes (`commit 18446744073709551615\0`).
    let mut head = [0u8; 64];
    let mut state = gix_zlib::Decompress::new();
    let n = gix_zlib::stream::inflate::read(&mut &compressed[..], &mut state, &mut head)
        .map_err(|_| corrupt(path, "the zlib stream is damaged"))?;
    let head = &head[..n];
    let (kind, size, header_len) = gix_object::decode::loose_header(head)
        .map_err(|_| corrupt(path, "the object header is not '<kind> <size>\\0'"))?;
    // zlib cannot expand more than about 1032:1, so a larger claim is a lie.
    let plausible = (compressed.len() as u64).saturating_mul(1100);
    if size > max_size || size > plausible {
        return Err(BackendError::ObjectTooLarge {
            id: id.to_owned(),
            size,
            limit: max_size.min(plausible),
        });
    }
    let total = header_len
        + usize::try_from(size).map_err(|_| corrupt(path, "the size does not fit in memory"))?;
    let mut out = vec![0u8; total];
    let mut state = gix_zlib::Decompress::new();
    let mut input = compressed;
    let n = gix_zlib::stream::inflate::read(&mut input, &mut state, &mut out)
        .map_err(|_| corrupt(path, "the zlib stream is damaged"))?;
    if n != total {
        return Err(corrupt(path, "the data is shorter than its header says"));
    }
    let mut extra = [0u8; 1];
    let more = gix_zlib::stream::inflate::read(&mut input, &mut state, &mut extra)
        .map_err(|_| corrupt(path, "the zlib stream is damaged"))?;
    if more != 0 {
        return Err(corrupt(path, "the data is longer than its header says"));
    }
    Ok(RawObject {
        kind,
        data: bytes::Bytes::from(out).slice(header_len..),
    })
}

/// Compresses an object into loose format (zlib level 1, as git does).
pub fn encode(kind: ObjectKind, data: &[u8]) -> Result<Vec<u8>, BackendError> {
    deflate(&loose_bytes(kind, data), gix_zlib::Compression::BEST_SPEED)
}

std::thread_local! {
    /// One compressor per thread and level: setting one up allocates a few
    /// hundred kilobytes, far more than compressing a small object costs.
    static COMPRESSORS: std::cell::RefCell<Vec<(i32, Compress)>> = const { std::cell::RefCell::new(Vec::new()) };
}

use gix_zlib::stream::deflate::{Compress, FlushCompress};

/// A complete zlib stream of `raw` at `level`.
pub fn deflate(raw: &[u8], level: gix_zlib::Compression) -> Result<Vec<u8>, BackendError> {
    COMPRESSORS.with(|cell| {
        let mut compressors = cell.borrow_mut();
        let index = match compressors.iter().position(|(l, _)| *l == level.level()) {
            Some(i) => i,
            None => {
                compressors.push((level.level(), Compress::new(level)));
                compressors.len() - 1
            }
        };
        let compressor = &mut compressors[index].1;
        compressor.reset();
        let mut out = Vec::with_capacity(raw.len() / 2 + 64);
        let mut chunk = vec![0u8; (raw.len() + 64).clamp(256, 64 << 10)];
        let mut input = raw;
        loop {
            let (in_before, out_before) = (compressor.total_in(), compressor.total_out());
            let status = compressor
                .compress(input, &mut chunk, FlushCompress::Finish)
                .map_err(|e| BackendError::Encode(std::io::Error::other(e)))?;
            let produced = (compressor.total_out() - out_before) as usize;
            out.extend_from_slice(&chunk[..produced]);
            input = &input[(compressor.total_in() - in_before) as usize..];
            match status {
                gix_zlib::Status::StreamEnd => return Ok(out),
                // More output space is needed, or more input is to be eaten.
                gix_zlib::Status::Ok | gix_zlib::Status::BufError => {
                    if produced == 0 && compressor.total_in() == in_before {
                        return Err(BackendError::Encode(std::io::Error::other(
                            "zlib made no progress",
                        )));
                    }
                }
            }
        }
    })
}

/// Writes the loose object `id` unless it exists, through a temporary file
/// and a rename; `fsync` makes it durable before the rename.
pub fn write(
    objects_dir: &Path,
    id: &oid,
    kind: ObjectKind,
    data: &[u8],
    fsync: bool,
) -> Result<(), BackendError> {
    let path = path_of(objects_dir, id);
    if path.exists() {
        return Ok(());
    }
    let compressed = encode(kind, data)?;
    let dir = path.parent().expect("object paths have a parent");
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
    }
    let tmp = super::temp_path(dir, "tmp_obj_");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // Git keeps object files read-only.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o444);
    let mut file = options.open(&tmp).map_err(|e| io_err("create", &tmp, e))?;
    let result = file
        .write_all(&compressed)
        .and_then(|()| if fsync { file.sync_all() } else { Ok(()) });
    drop(file);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err("write", &tmp, e));
    }
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err("rename", &path, e)
    })
}

/// Every loose object id below `objects_dir`.
pub fn list(objects_dir: &Path, hash: gix_hash::Kind) -> Result<Vec<ObjectId>, BackendError> {
    let mut ids = Vec::new();
    let entries = match std::fs::read_dir(objects_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(io_err("list", objects_dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", objects_dir, e))?;
        let prefix = entry.file_name();
        let Some(prefix) = prefix
            .to_str()
            .filter(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            continue;
        };
        let dir = entry.path();
        for file in std::fs::read_dir(&dir).map_err(|e| io_err("list", &dir, e))? {
            let file = file.map_err(|e| io_err("list", &dir, e))?;
            let name = file.file_name();
            let Some(rest) = name.to_str() else { continue };
            if rest.len() + 2 != hash.len_in_hex() {
                continue;
            }
            if let Ok(id) = ObjectId::from_hex(format!("{prefix}{rest}").as_bytes()) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod test {
    use super::*;

    quickcheck::quickcheck! {
        fn encode_decode_round_trip(data: Vec<u8>) -> bool {
            let id = ObjectId::null(gix_hash::Kind::Sha1);
            let z = encode(ObjectKind::Blob, &data).unwrap();
            let raw = decode(&z, Path::new("x"), &id, u64::MAX).unwrap();
            raw.kind == ObjectKind::Blob && raw.data == data
        }
        fn deflate_matches_the_streaming_writer(data: Vec<u8>) -> bool {
            let mut w = gix_zlib::stream::deflate::Write::new(Vec::new(), gix_zlib::Compression::BEST_SPEED);
            w.write_all(&data).unwrap();
            w.flush().unwrap();
            deflate(&data, gix_zlib::Compression::BEST_SPEED).unwrap() == w.into_inner()
        }
        fn decode_never_panics(data: Vec<u8>) -> bool {
            let id = ObjectId::null(gix_hash::Kind::Sha1);
            let _ = decode(&data, Path::new("x"), &id, 1 << 20);
            true
        }
    }

    #[test]
    fn rejects_lying_sizes() {
        let id = ObjectId::null(gix_hash::Kind::Sha1);
        let mut w =
            gix_zlib::stream::deflate::Write::new(Vec::new(), gix_zlib::Compression::BEST_SPEED);
        w.write_all(b"blob 999999999999\0abc").unwrap();
        w.flush().unwrap();
        let z = w.into_inner();
        assert!(matches!(
            decode(&z, Path::new("x"), &id, u64::MAX),
            Err(BackendError::ObjectTooLarge { .. })
        ));
        let z = encode(ObjectKind::Blob, b"abc").unwrap();
        let _ = &z;
        let mut w =
            gix_zlib::stream::deflate::Write::new(Vec::new(), gix_zlib::Compression::BEST_SPEED);
        w.write_all(b"blob 5\0abc").unwrap();
        w.flush().unwrap();
        assert!(matches!(
            decode(&w.into_inner(), Path::new("x"), &id, u64::MAX),
            Err(BackendError::CorruptLoose { .. })
        ));
    }
}
