//! [`Subtree`]: one dictionary of a store, seen as a store of its own.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use crate::key::Key;
use crate::kv::{Change, Digest, EntryKind, KvError, KvRo, KvRw, Metadata};
use crate::region::Region;
use crate::time::PosixTime;

/// A view of the dictionary at `prefix` inside another store: key `a/b`
/// of the view is key `prefix/a/b` of the store. An appliance uses it to
/// serve `site/` of a repository as a web root, or `zones/` as zone files.
///
/// Errors name keys as the underlying store sees them.
#[derive(Debug, Clone)]
pub struct Subtree<K> {
    inner: K,
    prefix: Key,
}

impl<K> Subtree<K> {
    /// The view of `prefix` inside `inner`.
    pub fn new(inner: K, prefix: Key) -> Self {
        Subtree { inner, prefix }
    }

    /// The prefix this view adds.
    pub fn prefix(&self) -> &Key {
        &self.prefix
    }

    /// The underlying store.
    pub fn inner(&self) -> &K {
        &self.inner
    }

    fn full(&self, key: &Key) -> Result<Key, KvError> {
        self.prefix
            .append(key)
            .map_err(|_| KvError::NotFound(key.clone()))
    }
}

impl<K: KvRo> KvRo for Subtree<K> {
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        if key.is_root() {
            // The view's root exists even when the dictionary is empty.
            return Ok(Some(EntryKind::Dictionary));
        }
        self.inner.exists(&self.full(key)?).await
    }
    async fn get(&self, key: &Key) -> Result<Bytes, KvError> {
        self.inner.get(&self.full(key)?).await
    }
    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
        self.inner
            .get_partial(&self.full(key)?, offset, length)
            .await
    }
    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> {
        match self.inner.list(&self.full(key)?).await {
            Err(KvError::NotFound(_)) if key.is_root() => Ok(Vec::new()),
            r => r,
        }
    }
    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> {
        self.inner.last_modified(&self.full(key)?).await
    }
    async fn digest(&self, key: &Key) -> Result<Digest, KvError> {
        self.inner.digest(&self.full(key)?).await
    }
    async fn size(&self, key: &Key) -> Result<u64, KvError> {
        self.inner.size(&self.full(key)?).await
    }
    async fn metadata(&self, key: &Key) -> Result<Metadata, KvError> {
        self.inner.metadata(&self.full(key)?).await
    }
    async fn region(&self, key: &Key, offset: u64, length: u64) -> Result<Option<Region>, KvError> {
        self.inner.region(&self.full(key)?, offset, length).await
    }
}

impl<K: KvRw> KvRw for Subtree<K> {
    async fn set(&self, key: &Key, value: Bytes) -> Result<(), KvError> {
        self.inner.set(&self.full(key)?, value).await
    }
    async fn set_partial(&self, key: &Key, offset: u64, data: &[u8]) -> Result<(), KvError> {
        self.inner.set_partial(&self.full(key)?, offset, data).await
    }
    async fn remove(&self, key: &Key) -> Result<(), KvError> {
        self.inner.remove(&self.full(key)?).await
    }
    async fn rename(&self, source: &Key, dest: &Key) -> Result<(), KvError> {
        self.inner
            .rename(&self.full(source)?, &self.full(dest)?)
            .await
    }
    async fn batch(&self, changes: Vec<Change>) -> Result<(), KvError> {
        let mut full = Vec::with_capacity(changes.len());
        for c in changes {
            full.push(match c {
                Change::Set(k, v) => Change::Set(self.full(&k)?, v),
                Change::Remove(k) => Change::Remove(self.full(&k)?),
            });
        }
        self.inner.batch(full).await
    }
}
