//! What changed between two trees or commits, value by value, as
//! `git diff --name-status` lists it; equal sub-trees are skipped unread.

use std::collections::BTreeSet;

use gix_hash::ObjectId;
use mirage_core::{Key, WallClock};

use super::tree::{self, TreeEntry};
use crate::backend::{Backend, require};
use crate::error::StoreError;
use crate::repo::Repo;

/// One changed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A value that did not exist before.
    Added(Key, ObjectId),
    /// A value that no longer exists.
    Removed(Key, ObjectId),
    /// A value with new content (old id, new id).
    Modified(Key, ObjectId, ObjectId),
}

impl Change {
    /// The path of the value.
    pub fn path(&self) -> &Key {
        match self {
            Change::Added(k, _) | Change::Removed(k, _) | Change::Modified(k, _, _) => k,
        }
    }
}

fn children<B: Backend + ?Sized>(
    backend: &B,
    e: Option<TreeEntry>,
) -> Result<std::collections::BTreeMap<gix_object::bstr::BString, TreeEntry>, StoreError> {
    match e {
        Some(e) if e.is_tree() => Ok(tree::read_tree(backend, &e.id)?),
        _ => Ok(Default::default()),
    }
}

fn walk<B: Backend + ?Sized>(
    backend: &B,
    path: &Key,
    old: Option<TreeEntry>,
    new: Option<TreeEntry>,
    out: &mut Vec<Change>,
) -> Result<(), StoreError> {
    if old == new {
        return Ok(());
    }
    let value = |e: Option<TreeEntry>| e.filter(|e| !e.is_tree());
    match (value(old), value(new)) {
        (Some(o), Some(n)) => out.push(Change::Modified(path.clone(), o.id, n.id)),
        (Some(o), None) => out.push(Change::Removed(path.clone(), o.id)),
        (None, Some(n)) => out.push(Change::Added(path.clone(), n.id)),
        (None, None) => {}
    }
    let (a, b) = (children(backend, old)?, children(backend, new)?);
    let names: BTreeSet<_> = a.keys().chain(b.keys()).collect();
    for name in names {
        let child = std::str::from_utf8(name)
            .ok()
            .and_then(|s| path.join(s).ok())
            .ok_or_else(|| StoreError::BadEntryName {
                tree: new
                    .or(old)
                    .map(|e| e.id)
                    .unwrap_or_else(|| ObjectId::null(backend.object_hash())),
                name: String::from_utf8_lossy(name).into_owned(),
            })?;
        walk(
            backend,
            &child,
            a.get(name).copied(),
            b.get(name).copied(),
            out,
        )?;
    }
    Ok(())
}

impl<B: Backend, C: WallClock> Repo<B, C> {
    /// The values that differ between the trees of commits `old` and `new`
    /// (`None`: the empty tree), depth first with the entries of a
    /// directory in name order.
    pub fn diff(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<Vec<Change>, StoreError> {
        let backend = self.backend();
        let root = |c: Option<ObjectId>| -> Result<Option<TreeEntry>, StoreError> {
            match c {
                None => Ok(None),
                Some(id) => Ok(Some(TreeEntry {
                    mode: tree::tree_mode(),
                    id: require(backend, &id)?.commit_tree(&id, backend.object_hash())?,
                })),
            }
        };
        let mut out = Vec::new();
        walk(backend, &Key::root(), root(old)?, root(new)?, &mut out)?;
        Ok(out)
    }
}
