//! Packed objects: `objects/pack/pack-<id>.pack` with its `.idx`, read through
//! gix-pack (deltas, both offset and reference deltas, are resolved by it).
//!
//! The set of packs is loaded lazily and reloaded when an object is missing,
//! since another process (`git gc`, our own [`super::FsBackend::gc`]) may have
//! added packs or removed loose objects since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix_hash::oid;

use super::io_err;
use crate::error::BackendError;
use crate::object::RawObject;

/// The packs of one repository, keyed by their index path.
#[derive(Default)]
pub struct PackSet {
    bundles: BTreeMap<PathBuf, gix_pack::Bundle>,
    inflate: gix_zlib::Inflate,
    /// The largest object a pack entry may make us allocate; `None` for no
    /// limit. An entry claiming more is an error, not an allocation.
    alloc_limit: Option<usize>,
}

impl std::fmt::Debug for PackSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackSet")
            .field("packs", &self.bundles.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The `.idx` files in `pack_dir` whose `.pack` exists too.
pub fn index_files(pack_dir: &Path) -> Result<Vec<PathBuf>, BackendError> {
    let entries = match std::fs::read_dir(pack_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list", pack_dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_err("list", pack_dir, e))?.path();
        if path.extension().is_some_and(|e| e == "idx") && path.with_extension("pack").exists() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

impl PackSet {
    /// An empty set whose packs may not make us allocate more than
    /// `max_object_size` bytes for one object.
    pub fn with_alloc_limit(max_object_size: u64) -> PackSet {
        PackSet {
            alloc_limit: Some(usize::try_from(max_object_size).unwrap_or(usize::MAX)),
            ..PackSet::default()
        }
    }

    /// Synchronises the loaded packs with the `.idx` files in `pack_dir`.
    pub fn refresh(&mut self, pack_dir: &Path, hash: gix_hash::Kind) -> Result<(), BackendError> {
        let present = index_files(pack_dir)?;
        self.bundles.retain(|p, _| present.contains(p));
        for path in present {
            if self.bundles.contains_key(&path) {
                continue;
            }
            let mut bundle =
                gix_pack::Bundle::at(&path, hash).map_err(|source| BackendError::Pack {
                    path: path.clone(),
                    source,
                })?;
            bundle.pack = bundle.pack.with_alloc_limit_bytes(self.alloc_limit);
            self.bundles.insert(path, bundle);
        }
        Ok(())
    }

    /// Whether any loaded pack has `id`.
    pub fn contains(&self, id: &oid) -> bool {
        self.bundles.values().any(|b| b.index.lookup(id).is_some())
    }

    /// Decodes `id` from the first loaded pack that has it.
    pub fn read(&mut self, id: &oid) -> Result<Option<RawObject>, BackendError> {
        let mut buf = Vec::new();
        for (path, bundle) in &self.bundles {
            if bundle.index.lookup(id).is_none() {
                continue;
            }
            let found = bundle
                .find(id, &mut buf, &mut self.inflate, &mut gix_pack::cache::Never)
                .map_err(|source| BackendError::Pack {
                    path: path.clone(),
                    source,
                })?;
            if let Some((data, _)) = found {
                return Ok(Some(RawObject {
                    kind: data.kind,
                    data: data.data.to_vec().into(),
                }));
            }
        }
        Ok(None)
    }

    /// Every object id in every loaded pack.
    pub fn ids(&self) -> Vec<gix_hash::ObjectId> {
        self.bundles
            .values()
            .flat_map(|b| b.index.iter().map(|e| e.oid).collect::<Vec<_>>())
            .collect()
    }
}
