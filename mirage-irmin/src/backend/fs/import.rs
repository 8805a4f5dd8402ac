//! Storing packs received from elsewhere (a fetch, a bundle): the pack is
//! indexed and written next to the others by gix-pack; a thin pack (one
//! whose deltas name bases it does not contain) is completed with objects
//! from this repository, as `git index-pack --fix-thin` does.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use gix_hash::oid;

use super::{FsBackend, io_err};
use crate::backend::Backend;
use crate::error::BackendError;

/// Our objects, as gix-pack asks for the bases of a thin pack.
struct Bases<'a>(&'a FsBackend);

impl gix_object::Find for Bases<'_> {
    fn try_find<'b>(
        &self,
        id: &oid,
        buffer: &'b mut Vec<u8>,
    ) -> gix_error::Result<Option<gix_object::Data<'b>>> {
        match self.0.read_object(id) {
            Ok(Some(raw)) => {
                buffer.clear();
                buffer.extend_from_slice(&raw.data);
                Ok(Some(gix_object::Data {
                    kind: raw.kind,
                    object_hash: self.0.object_hash(),
                    data: buffer,
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(gix_error::Error::from_error(e)),
        }
    }
}

impl FsBackend {
    /// Reads a pack stream (`PACK`, version, count, entries, checksum), checks
    /// it, and stores it with a new index in `objects/pack`; returns the
    /// `.pack` path. Objects it holds become readable at once; references
    /// are not touched.
    pub fn import_pack(&self, pack: &mut dyn std::io::BufRead) -> Result<PathBuf, BackendError> {
        let pack_dir = self.pack_dir();
        std::fs::create_dir_all(&pack_dir).map_err(|e| io_err("create", &pack_dir, e))?;
        let interrupt = AtomicBool::new(false);
        let outcome = gix_pack::Bundle::write_to_directory(
            pack,
            Some(&pack_dir),
            &mut gix_utils::progress::Discard,
            &interrupt,
            Some(Bases(self)),
            self.hash,
            gix_pack::bundle::write::Options {
                thread_limit: Some(1),
                ..Default::default()
            },
        )
        .map_err(|source| BackendError::Pack {
            path: pack_dir.clone(),
            source,
        })?;
        if let Some(keep) = &outcome.keep_path {
            let _ = std::fs::remove_file(keep);
        }
        self.packs().refresh(&pack_dir, self.hash)?;
        outcome
            .data_path
            .ok_or(BackendError::NotARepository(pack_dir))
    }
}
