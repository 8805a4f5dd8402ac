//! [`Store`]: the contents of one branch (or a detached commit) as a tree of
//! paths, read and written with commits.
//!
//! Every write is one commit made with compare-and-swap on the branch: the
//! change is applied to the current head, committed, and the branch is moved
//! only if it still points at that head. When another writer got there first
//! the change is re-applied on top of the new head, so concurrent writers
//! never lose each other's commits.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use gix_hash::ObjectId;
use mirage_core::{EntryKind, Key, WallClock};

use crate::backend::{Backend, require};
use crate::commit::{CommitInfo, Info, read_commit, write_commit};
use crate::error::{CasError, StoreError};
use crate::refs::RefName;
use crate::repo::Repo;

pub mod diff;
pub mod history;
pub mod tree;
pub mod watch;

pub use tree::{TreeEditor, TreeEntry};

/// How often a write is re-applied after losing the race for the branch.
pub const MAX_ATTEMPTS: u32 = 1000;

#[derive(Clone)]
pub(crate) enum Head {
    Branch(RefName),
    Detached(Arc<Mutex<Option<ObjectId>>>),
}

/// One change of a [`Transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Store a value at a path.
    Set(Key, Bytes),
    /// Remove a path (value or directory, recursively).
    Remove(Key),
    /// Move a path (value or directory) to another.
    Rename(Key, Key),
}

/// A branch or detached commit of a [`Repo`], seen as a tree of values.
pub struct Store<B, C> {
    pub(crate) repo: Repo<B, C>,
    pub(crate) head: Head,
    /// Answers of [`Store::last_modified`] for one head, shared by clones.
    pub(crate) last_modified: Arc<Mutex<history::LastModifiedCache>>,
}

impl<B, C> Clone for Store<B, C> {
    fn clone(&self) -> Self {
        Store {
            repo: self.repo.clone(),
            head: self.head.clone(),
            last_modified: self.last_modified.clone(),
        }
    }
}

/// Many changes that become one commit; see [`Store::transaction`].
pub struct Transaction<'s, B, C> {
    store: &'s Store<B, C>,
    ops: Vec<Op>,
}

impl<B: Backend, C: WallClock> Transaction<'_, B, C> {
    /// Adds: store `value` at `path`.
    pub fn set(&mut self, path: Key, value: impl Into<Bytes>) -> &mut Self {
        self.ops.push(Op::Set(path, value.into()));
        self
    }

    /// Adds: remove `path`.
    pub fn remove(&mut self, path: Key) -> &mut Self {
        self.ops.push(Op::Remove(path));
        self
    }

    /// Adds: move `from` to `to`.
    pub fn rename(&mut self, from: Key, to: Key) -> &mut Self {
        self.ops.push(Op::Rename(from, to));
        self
    }

    /// Commits all changes at once; see [`Store::apply`].
    pub async fn commit(self, info: Info) -> Result<Option<ObjectId>, StoreError> {
        self.store.apply(&self.ops, &info).await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded value is a plain id, never left half-written.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<B: Backend, C: WallClock> Store<B, C> {
    pub(crate) fn on_branch(repo: Repo<B, C>, name: RefName) -> Self {
        Store {
            repo,
            head: Head::Branch(name),
            last_modified: Arc::default(),
        }
    }

    pub(crate) fn detached(repo: Repo<B, C>, id: Option<ObjectId>) -> Self {
        Store {
            repo,
            head: Head::Detached(Arc::new(Mutex::new(id))),
            last_modified: Arc::default(),
        }
    }

    /// The repository.
    pub fn repo(&self) -> &Repo<B, C> {
        &self.repo
    }

    fn backend(&self) -> &B {
        self.repo.backend()
    }

    /// The branch's name (`main`), or `None` for a detached store.
    pub fn branch_name(&self) -> Option<&str> {
        match &self.head {
            Head::Branch(r) => r.branch_name(),
            Head::Detached(_) => None,
        }
    }

    /// The current commit, `None` for a branch with no commit yet.
    pub(crate) fn head_sync(&self) -> Result<Option<ObjectId>, StoreError> {
        match &self.head {
            Head::Branch(r) => Ok(self.backend().resolve_ref(r)?),
            Head::Detached(id) => Ok(*lock(id)),
        }
    }

    /// The current commit, `None` for a branch with no commit yet.
    pub async fn head(&self) -> Result<Option<ObjectId>, StoreError> {
        self.head_sync()
    }

    /// The current commit's metadata.
    pub async fn head_commit(&self) -> Result<Option<CommitInfo>, StoreError> {
        match self.head_sync()? {
            Some(id) => Ok(Some(read_commit(self.backend(), &id)?)),
            None => Ok(None),
        }
    }

    fn root_of(&self, commit: Option<ObjectId>) -> Result<Option<ObjectId>, StoreError> {
        match commit {
            Some(id) => Ok(Some(
                require(self.backend(), &id)?.commit_tree(&id, self.backend().object_hash())?,
            )),
            None => Ok(None),
        }
    }

    /// The root tree of the current commit.
    pub async fn root_tree(&self) -> Result<Option<ObjectId>, StoreError> {
        self.root_of(self.head_sync()?)
    }

    pub(crate) fn entry_sync(&self, path: &Key) -> Result<Option<TreeEntry>, StoreError> {
        let root = self.root_of(self.head_sync()?)?;
        if path.is_root() {
            let id = root.unwrap_or_else(|| tree::empty_tree_id(self.backend().object_hash()));
            return Ok(Some(TreeEntry {
                mode: tree::tree_mode(),
                id,
            }));
        }
        tree::lookup(self.backend(), root, path)
    }

    /// The tree entry (mode and id) at `path`; the root always exists.
    pub async fn entry(&self, path: &Key) -> Result<Option<TreeEntry>, StoreError> {
        self.entry_sync(path)
    }

    /// What `path` is: a value, a directory, or nothing.
    pub async fn kind(&self, path: &Key) -> Result<Option<EntryKind>, StoreError> {
        Ok(self.entry_sync(path)?.map(|e| e.kv_kind()))
    }

    /// The value at `path`, `None` if nothing is there.
    pub async fn find(&self, path: &Key) -> Result<Option<Bytes>, StoreError> {
        match self.entry_sync(path)? {
            None => Ok(None),
            Some(e) if e.is_tree() => Err(StoreError::ValueExpected(path.clone())),
            Some(e) => Ok(Some(require(self.backend(), &e.id)?.into_blob(&e.id)?)),
        }
    }

    /// The value at `path`; [`StoreError::NotFound`] if nothing is there.
    pub async fn get(&self, path: &Key) -> Result<Bytes, StoreError> {
        self.find(path)
            .await?
            .ok_or_else(|| StoreError::NotFound(path.clone()))
    }

    /// The entries of the directory `path`, sorted by name.
    pub async fn list(&self, path: &Key) -> Result<Vec<(String, EntryKind)>, StoreError> {
        match self.entry_sync(path)? {
            None => Err(StoreError::NotFound(path.clone())),
            Some(e) if !e.is_tree() => Err(StoreError::DictionaryExpected(path.clone())),
            Some(e) => Ok(tree::list(self.backend(), &e.id)?
                .into_iter()
                .map(|(name, e)| (name, e.kv_kind()))
                .collect()),
        }
    }

    /// Stores `value` at `path` in one commit; returns the new head.
    pub async fn set(
        &self,
        path: &Key,
        value: impl Into<Bytes>,
        info: Info,
    ) -> Result<Option<ObjectId>, StoreError> {
        self.apply(&[Op::Set(path.clone(), value.into())], &info)
            .await
    }

    /// Removes `path` in one commit (no commit if it did not exist); returns the head.
    pub async fn remove(&self, path: &Key, info: Info) -> Result<Option<ObjectId>, StoreError> {
        self.apply(&[Op::Remove(path.clone())], &info).await
    }

    /// Starts a batch of changes that [`Transaction::commit`] turns into one commit.
    pub fn transaction(&self) -> Transaction<'_, B, C> {
        Transaction {
            store: self,
            ops: Vec::new(),
        }
    }

    /// Applies `ops` in order to the current tree and commits the result as
    /// one commit (retrying on a moved branch, see the module docs). A change
    /// that leaves the tree as it was makes no commit. Returns the new head.
    pub async fn apply(&self, ops: &[Op], info: &Info) -> Result<Option<ObjectId>, StoreError> {
        self.apply_sync(ops, info)
    }

    pub(crate) fn apply_sync(
        &self,
        ops: &[Op],
        info: &Info,
    ) -> Result<Option<ObjectId>, StoreError> {
        self.update(|store, parent| store.apply_on(parent, ops, info))
    }

    /// The value at `path` in commit `commit`.
    pub(crate) fn value_at(
        &self,
        commit: Option<ObjectId>,
        path: &Key,
    ) -> Result<Option<Bytes>, StoreError> {
        match tree::lookup(self.backend(), self.root_of(commit)?, path)? {
            None => Ok(None),
            Some(e) if e.is_tree() => Err(StoreError::ValueExpected(path.clone())),
            Some(e) => Ok(Some(require(self.backend(), &e.id)?.into_blob(&e.id)?)),
        }
    }

    /// Builds the commit applying `ops` on top of `parent`; `None` if the tree stays the same.
    pub(crate) fn apply_on(
        &self,
        parent: Option<ObjectId>,
        ops: &[Op],
        info: &Info,
    ) -> Result<Option<ObjectId>, StoreError> {
        let root = self.root_of(parent)?;
        let mut editor = TreeEditor::new(self.backend(), root);
        for op in ops {
            match op {
                Op::Set(path, value) => editor.set(path, value)?,
                Op::Remove(path) => editor.remove(path)?,
                Op::Rename(from, to) => {
                    let entry = editor
                        .get(from)?
                        .ok_or_else(|| StoreError::NotFound(from.clone()))?;
                    if from == to {
                        continue;
                    }
                    if to.starts_with(from) {
                        return Err(StoreError::RenameIntoItself {
                            from: from.clone(),
                            dest: to.clone(),
                        });
                    }
                    // A directory never replaces a directory (checked before
                    // the move, as mirage-core's in-memory store does).
                    if entry.is_tree() && editor.get(to)?.is_some_and(|e| e.is_tree()) {
                        return Err(StoreError::ValueExpected(to.clone()));
                    }
                    editor.remove(from)?;
                    editor.put(to, entry, false)?;
                }
            }
        }
        let new_root = editor.write()?;
        let empty = tree::empty_tree_id(self.backend().object_hash());
        if root == Some(new_root) || (root.is_none() && new_root == empty) {
            return Ok(None);
        }
        let parents: Vec<ObjectId> = parent.into_iter().collect();
        let time = self.repo.clock().now_posix();
        Ok(Some(write_commit(
            self.backend(),
            new_root,
            &parents,
            info,
            time,
        )?))
    }

    /// The compare-and-swap loop: `make` builds a commit on the given head
    /// (or `None` for "nothing to do"), and the branch is moved to it.
    pub(crate) fn update(
        &self,
        mut make: impl FnMut(&Self, Option<ObjectId>) -> Result<Option<ObjectId>, StoreError>,
    ) -> Result<Option<ObjectId>, StoreError> {
        match &self.head {
            Head::Detached(cell) => {
                let mut head = lock(cell);
                if let Some(new) = make(self, *head)? {
                    *head = Some(new);
                }
                Ok(*head)
            }
            Head::Branch(name) => {
                for _ in 0..MAX_ATTEMPTS {
                    let parent = self.backend().resolve_ref(name)?;
                    let Some(new) = make(self, parent)? else {
                        return Ok(parent);
                    };
                    match self.backend().update_ref(name, parent, Some(new)) {
                        Ok(()) => return Ok(Some(new)),
                        Err(CasError::Mismatch { .. }) => continue,
                        Err(CasError::Backend(e)) => return Err(e.into()),
                    }
                }
                Err(StoreError::Contended {
                    branch: name.to_string(),
                    attempts: MAX_ATTEMPTS,
                })
            }
        }
    }

    /// Moves the branch (or detached head) to `new` if it is at `expected`.
    pub async fn test_and_set_head(
        &self,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<bool, StoreError> {
        match &self.head {
            Head::Detached(cell) => {
                let mut head = lock(cell);
                if *head != expected {
                    return Ok(false);
                }
                *head = new;
                Ok(true)
            }
            Head::Branch(name) => match self.backend().update_ref(name, expected, new) {
                Ok(()) => Ok(true),
                Err(CasError::Mismatch { .. }) => Ok(false),
                Err(CasError::Backend(e)) => Err(e.into()),
            },
        }
    }
}
