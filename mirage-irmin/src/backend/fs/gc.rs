//! Garbage collection, the safe half of `git gc`: every reachable loose
//! object goes into one new pack (`objects/pack/pack-<id>.pack` and `.idx`,
//! written through gix-pack), then those loose files are removed.
//!
//! Existing packs and unreachable loose objects are kept: another writer may
//! be about to reference an object it found there, so deleting them is never
//! safe without git's grace periods. Packs are written without deltas.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use gix_hash::ObjectId;

use super::{FsBackend, io_err, loose};
use crate::backend::{Backend, require};
use crate::error::BackendError;
use crate::object::ObjectKind;

/// What [`FsBackend::gc`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcOutcome {
    /// The new pack's `.pack` file, `None` if there was nothing to pack.
    pub pack: Option<std::path::PathBuf>,
    /// How many objects the new pack holds.
    pub packed: usize,
    /// How many loose files were removed after packing.
    pub removed_loose: usize,
    /// How many loose references moved into `packed-refs`.
    pub packed_refs: usize,
}

/// Every object reachable from `roots` (commits, trees, blobs, tags); submodule entries are skipped.
pub fn reachable<B: Backend + ?Sized>(
    backend: &B,
    roots: &[ObjectId],
) -> Result<Vec<(ObjectId, ObjectKind)>, BackendError> {
    let hash = backend.object_hash();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<ObjectId> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let raw = require(backend, &id)?;
        let kind = raw.kind;
        match kind {
            ObjectKind::Commit => {
                let c = raw.into_commit(&id, hash)?;
                stack.push(c.tree);
                stack.extend(c.parents.iter().copied());
            }
            ObjectKind::Tree => {
                let t = raw.into_tree(&id, hash)?;
                for e in t.entries {
                    if !e.mode.is_commit() {
                        stack.push(e.oid);
                    }
                }
            }
            ObjectKind::Tag => {
                let t = raw.into_tag(&id, hash)?;
                stack.push(t.target);
            }
            ObjectKind::Blob => {}
        }
        out.push((id, kind));
    }
    Ok(out)
}

fn pack_header(kind: ObjectKind) -> gix_pack::data::entry::Header {
    use gix_pack::data::entry::Header;
    match kind {
        ObjectKind::Blob => Header::Blob,
        ObjectKind::Tree => Header::Tree,
        ObjectKind::Commit => Header::Commit,
        ObjectKind::Tag => Header::Tag,
    }
}

impl FsBackend {
    /// Moves loose references into `packed-refs` (with peeled tags), as
    /// `git pack-refs --all`; returns how many loose files went away.
    pub fn pack_refs(&self) -> Result<usize, BackendError> {
        let hash = self.hash;
        self.refs.pack(|id| {
            let mut id = *id;
            for _ in 0..64 {
                match self.read_object(&id) {
                    Ok(Some(raw)) if raw.kind == ObjectKind::Tag => match raw.into_tag(&id, hash) {
                        Ok(tag) => id = tag.target,
                        Err(_) => return None,
                    },
                    Ok(Some(_)) => return Some(id),
                    _ => return None,
                }
            }
            None
        })
    }

    /// Packs loose references into `packed-refs`, then every loose object
    /// reachable from any reference (and `HEAD`) into a new pack with its
    /// index, then deletes the packed loose files.
    pub fn gc(&self) -> Result<GcOutcome, BackendError> {
        let mut roots: Vec<ObjectId> = self
            .list_refs("refs/")?
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        if let Some(head) = self.resolve_ref(&crate::refs::RefName::head())? {
            roots.push(head);
        }
        let loose_ids: HashSet<ObjectId> = loose::list(&self.objects_dir, self.hash)?
            .into_iter()
            .collect();
        let wanted: Vec<(ObjectId, ObjectKind)> = reachable(self, &roots)?
            .into_iter()
            .filter(|(id, _)| loose_ids.contains(id))
            .collect();
        let packed_refs = self.pack_refs()?;
        if wanted.is_empty() {
            return Ok(GcOutcome {
                pack: None,
                packed: 0,
                removed_loose: 0,
                packed_refs,
            });
        }
        let count = u32::try_from(wanted.len()).map_err(|_| BackendError::ObjectTooLarge {
            id: wanted[0].0,
            size: wanted.len() as u64,
            limit: u64::from(u32::MAX),
        })?;

        // The pack stream: header, one undeltified entry per object, trailing checksum.
        let mut pack = Vec::new();
        pack.extend_from_slice(b"PACK");
        pack.extend_from_slice(&2u32.to_be_bytes());
        pack.extend_from_slice(&count.to_be_bytes());
        for (id, _) in &wanted {
            let raw = require(self, id)?;
            pack_header(raw.kind)
                .write_to(raw.data.len() as u64, &mut pack)
                .map_err(BackendError::Encode)?;
            pack.extend_from_slice(&loose::deflate(&raw.data, gix_zlib::Compression::DEFAULT)?);
        }
        let mut hasher = gix_hash::hasher(self.hash);
        hasher.update(&pack);
        let checksum = hasher.try_finalize().map_err(BackendError::Hash)?;
        pack.extend_from_slice(checksum.as_bytes());

        let pack_dir = self.pack_dir();
        std::fs::create_dir_all(&pack_dir).map_err(|e| io_err("create", &pack_dir, e))?;
        let interrupt = AtomicBool::new(false);
        let outcome = gix_pack::Bundle::write_to_directory(
            &mut &pack[..],
            Some(&pack_dir),
            &mut gix_utils::progress::Discard,
            &interrupt,
            None::<gix_object::find::Never>,
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
        // Only now that pack and index are in place may the loose copies go.
        self.packs().refresh(&pack_dir, self.hash)?;
        let mut removed = 0;
        for (id, _) in &wanted {
            if !self.packs().contains(id) {
                continue;
            }
            let path = loose::path_of(&self.objects_dir, id);
            if std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
            if let Some(dir) = path.parent() {
                // Fails harmlessly while the directory holds other objects.
                let _ = std::fs::remove_dir(dir);
            }
        }
        Ok(GcOutcome {
            pack: outcome.data_path,
            packed: wanted.len(),
            removed_loose: removed,
            packed_refs,
        })
    }
}
