//! The in-memory backend: objects in a hash map, references in a sorted map.
//! Needs no file system, so it serves unikernels without a disk and tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use gix_hash::{ObjectId, oid};

use super::Backend;
use crate::error::{BackendError, CasError};
use crate::object::{ObjectKind, RawObject, object_id};
use crate::refs::{RefName, RefValue};

/// Stored objects by id: kind and canonical bytes.
type ObjectMap = HashMap<ObjectId, (ObjectKind, Bytes)>;

/// Objects and references kept in memory; `HEAD` starts as `ref: refs/heads/main`.
///
/// All methods lock a mutex for a short moment, so one backend can be shared
/// between tasks (and threads) through an `Arc`.
#[derive(Debug)]
pub struct MemBackend {
    hash: gix_hash::Kind,
    objects: Mutex<ObjectMap>,
    refs: Mutex<BTreeMap<RefName, RefValue>>,
}

impl Default for MemBackend {
    fn default() -> Self {
        MemBackend::new(gix_hash::Kind::Sha1)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the maps half-updated
    // (every update is a single insert or remove), so a poisoned lock is safe to use.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemBackend {
    /// An empty store whose ids use `hash`.
    pub fn new(hash: gix_hash::Kind) -> MemBackend {
        let mut refs = BTreeMap::new();
        refs.insert(
            RefName::head(),
            RefValue::Symbolic(RefName::branch("main").expect("valid name")),
        );
        MemBackend {
            hash,
            objects: Mutex::new(HashMap::new()),
            refs: Mutex::new(refs),
        }
    }

    /// How many objects are stored.
    pub fn object_count(&self) -> usize {
        lock(&self.objects).len()
    }
}

impl Backend for MemBackend {
    fn object_hash(&self) -> gix_hash::Kind {
        self.hash
    }

    fn read_object(&self, id: &oid) -> Result<Option<RawObject>, BackendError> {
        Ok(lock(&self.objects).get(id).map(|(kind, data)| RawObject {
            kind: *kind,
            data: data.clone(),
        }))
    }

    fn contains_object(&self, id: &oid) -> Result<bool, BackendError> {
        Ok(lock(&self.objects).contains_key(id))
    }

    fn write_object(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, BackendError> {
        let id = object_id(self.hash, kind, data)?;
        lock(&self.objects)
            .entry(id)
            .or_insert_with(|| (kind, Bytes::copy_from_slice(data)));
        Ok(id)
    }

    fn read_ref(&self, name: &RefName) -> Result<Option<RefValue>, BackendError> {
        Ok(lock(&self.refs).get(name).cloned())
    }

    fn update_ref(
        &self,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<(), CasError> {
        if let Some(id) = new.as_ref().filter(|id| id.kind() != self.hash) {
            return Err(BackendError::HashMismatch {
                id: *id,
                expected: self.hash,
            }
            .into());
        }
        let mut refs = lock(&self.refs);
        let actual = match refs.get(name) {
            Some(RefValue::Object(id)) => Some(*id),
            Some(RefValue::Symbolic(_)) | None => None,
        };
        if actual != expected || matches!(refs.get(name), Some(RefValue::Symbolic(_))) {
            return Err(CasError::Mismatch {
                name: name.to_string(),
                expected,
                actual,
            });
        }
        match new {
            Some(id) => refs.insert(name.clone(), RefValue::Object(id)),
            None => refs.remove(name),
        };
        Ok(())
    }

    fn set_symbolic_ref(&self, name: &RefName, target: &RefName) -> Result<(), BackendError> {
        lock(&self.refs).insert(name.clone(), RefValue::Symbolic(target.clone()));
        Ok(())
    }

    fn list_refs(&self, prefix: &str) -> Result<Vec<(RefName, ObjectId)>, BackendError> {
        Ok(lock(&self.refs)
            .iter()
            .filter(|(name, _)| name.as_str().starts_with(prefix))
            .filter_map(|(name, value)| match value {
                RefValue::Object(id) => Some((name.clone(), *id)),
                RefValue::Symbolic(_) => None,
            })
            .collect())
    }
}
