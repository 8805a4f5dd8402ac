//! mirage-core's [`KvRo`] and [`KvRw`] on a [`Store`]: every write is a
//! commit by the repository's default author, every digest a git object id.
//!
//! `last_modified` is the author time of the last commit that changed the
//! key (a history walk). `batch` is one commit, and it is as atomic as a
//! commit: after a crash the branch points either before or after it.

use bytes::Bytes;
use mirage_core::{Change, Digest, EntryKind, Key, KvError, KvRo, KvRw, PosixTime, WallClock};

use crate::backend::Backend;
use crate::error::StoreError;
use crate::store::{Op, Store};

impl From<StoreError> for KvError {
    fn from(e: StoreError) -> KvError {
        match e {
            StoreError::NotFound(k) => KvError::NotFound(k),
            StoreError::ValueExpected(k) => KvError::ValueExpected(k),
            StoreError::DictionaryExpected(k) => KvError::DictionaryExpected(k),
            StoreError::RenameIntoItself { from, dest } => KvError::RenameIntoItself { from, dest },
            StoreError::Contended { .. } | StoreError::RefMoved { .. } => KvError::Conflict,
            other => KvError::storage(other),
        }
    }
}

impl<B: Backend, C: WallClock> KvRo for Store<B, C> {
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        Ok(self.kind(key).await?)
    }

    async fn get(&self, key: &Key) -> Result<Bytes, KvError> {
        Ok(Store::get(self, key).await?)
    }

    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
        let value = Store::get(self, key).await?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(value.len());
        let end = start.saturating_add(length).min(value.len());
        Ok(value.slice(start..end))
    }

    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> {
        Ok(Store::list(self, key).await?)
    }

    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> {
        if self.kind(key).await?.is_none() {
            return Err(KvError::NotFound(key.clone()));
        }
        match Store::last_modified(self, key).await? {
            Some(c) => Ok(c.time),
            // The root of an empty branch.
            None => Ok(PosixTime::EPOCH),
        }
    }

    async fn digest(&self, key: &Key) -> Result<Digest, KvError> {
        let entry = self
            .entry(key)
            .await?
            .ok_or_else(|| KvError::NotFound(key.clone()))?;
        Ok(Digest::new(entry.id.as_bytes()).expect("git ids are at most 32 bytes"))
    }

    async fn size(&self, key: &Key) -> Result<u64, KvError> {
        Ok(Store::get(self, key).await?.len() as u64)
    }
}

impl<B: Backend, C: WallClock> KvRw for Store<B, C> {
    async fn set(&self, key: &Key, value: Bytes) -> Result<(), KvError> {
        let info = self.repo().info(format!("set {key}"));
        Store::set(self, key, value, info).await?;
        Ok(())
    }

    async fn set_partial(&self, key: &Key, offset: u64, data: &[u8]) -> Result<(), KvError> {
        let offset = usize::try_from(offset).map_err(|_| KvError::NoSpace)?;
        let end = offset.checked_add(data.len()).ok_or(KvError::NoSpace)?;
        let info = self.repo().info(format!("set_partial {key}"));
        // Read-modify-write inside the compare-and-swap loop, so a concurrent
        // writer's change to the value is never overwritten with stale bytes.
        self.update(|store, parent| {
            let mut value = match store.value_at(parent, key)? {
                Some(v) => v.to_vec(),
                None => Vec::new(),
            };
            if value.len() < end {
                value.resize(end, 0);
            }
            value[offset..end].copy_from_slice(data);
            store.apply_on(parent, &[Op::Set(key.clone(), Bytes::from(value))], &info)
        })?;
        Ok(())
    }

    async fn remove(&self, key: &Key) -> Result<(), KvError> {
        let info = self.repo().info(format!("remove {key}"));
        Store::remove(self, key, info).await?;
        Ok(())
    }

    async fn rename(&self, source: &Key, dest: &Key) -> Result<(), KvError> {
        let info = self.repo().info(format!("rename {source} to {dest}"));
        self.apply(&[Op::Rename(source.clone(), dest.clone())], &info)
            .await?;
        Ok(())
    }

    async fn batch(&self, changes: Vec<Change>) -> Result<(), KvError> {
        let ops: Vec<Op> = changes
            .into_iter()
            .map(|c| match c {
                Change::Set(k, v) => Op::Set(k, v),
                Change::Remove(k) => Op::Remove(k),
            })
            .collect();
        let info = self.repo().info(format!("batch of {} changes", ops.len()));
        self.apply(&ops, &info).await?;
        Ok(())
    }
}
