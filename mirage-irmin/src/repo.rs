//! [`Repo`]: a backend plus a clock and a default author; the door to
//! branches ([`Repo::branch`]), detached commits ([`Repo::at_commit`]), tags
//! and commit-graph queries ([`Repo::lca`]).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use gix_hash::ObjectId;
use mirage_core::WallClock;

use crate::backend::{Backend, require};
use crate::commit::{Author, CommitInfo, Info, read_commit};
use crate::error::{BackendError, StoreError};
use crate::object::{ObjectKind, encode};
use crate::refs::{RefName, RefValue};
use crate::store::Store;

pub(crate) struct Inner<B, C> {
    pub(crate) backend: B,
    pub(crate) clock: C,
    pub(crate) author: Author,
}

/// A repository: objects and references in a [`Backend`], commit times from a
/// [`WallClock`]. Cheap to clone (shared).
pub struct Repo<B, C> {
    pub(crate) inner: Arc<Inner<B, C>>,
}

impl<B, C> Clone for Repo<B, C> {
    fn clone(&self) -> Self {
        Repo {
            inner: self.inner.clone(),
        }
    }
}

impl<B: Backend, C: WallClock> Repo<B, C> {
    /// A repository over `backend`, stamping commits with `clock`'s time and
    /// [`Author::default`] for commits made through the key-value interface.
    pub fn new(backend: B, clock: C) -> Self {
        Repo::with_author(backend, clock, Author::default())
    }

    /// Like [`Repo::new`] with another default author.
    pub fn with_author(backend: B, clock: C, author: Author) -> Self {
        Repo {
            inner: Arc::new(Inner {
                backend,
                clock,
                author,
            }),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }

    /// The clock commits are stamped with.
    pub fn clock(&self) -> &C {
        &self.inner.clock
    }

    /// The default author.
    pub fn author(&self) -> &Author {
        &self.inner.author
    }

    /// Commit info by the default author with `message`.
    pub fn info(&self, message: impl Into<String>) -> Info {
        Info::new(self.inner.author.clone(), message)
    }

    /// The store of branch `name` (`refs/heads/<name>`); it need not exist yet.
    pub fn branch(&self, name: &str) -> Result<Store<B, C>, StoreError> {
        Ok(Store::on_branch(self.clone(), RefName::branch(name)?))
    }

    /// The store of the branch `HEAD` points to (usually `main`).
    pub fn head_branch(&self) -> Result<Store<B, C>, StoreError> {
        let mut name = RefName::head();
        for _ in 0..=crate::backend::MAX_SYMREF_DEPTH {
            match self.backend().read_ref(&name)? {
                Some(RefValue::Symbolic(next)) => name = next,
                _ => break,
            }
        }
        if name.branch_name().is_none() {
            return Err(StoreError::NoSuchBranch(name.to_string()));
        }
        Ok(Store::on_branch(self.clone(), name))
    }

    /// A detached store starting at commit `id`: commits made through it move
    /// only this handle, no reference.
    pub fn at_commit(&self, id: ObjectId) -> Store<B, C> {
        Store::detached(self.clone(), Some(id))
    }

    /// A detached store at `id`, or an empty one for `None`.
    pub fn detached_at(&self, id: Option<ObjectId>) -> Store<B, C> {
        Store::detached(self.clone(), id)
    }

    /// The names of all branches, sorted.
    pub fn branches(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .backend()
            .list_refs(RefName::HEADS)?
            .into_iter()
            .filter_map(|(n, _)| n.branch_name().map(str::to_owned))
            .collect())
    }

    /// Deletes branch `name` if it still points at `expected`.
    pub fn remove_branch(&self, name: &str, expected: ObjectId) -> Result<(), StoreError> {
        self.backend()
            .update_ref(&RefName::branch(name)?, Some(expected), None)
            .map_err(StoreError::from)
    }

    /// The tags and the objects they name (a commit, or an annotated tag object).
    pub fn tags(&self) -> Result<Vec<(String, ObjectId)>, StoreError> {
        Ok(self
            .backend()
            .list_refs(RefName::TAGS)?
            .into_iter()
            .filter_map(|(n, id)| n.tag_name().map(|t| (t.to_owned(), id)))
            .collect())
    }

    /// Creates tag `name` on `target`: annotated (a tag object by the default
    /// author) when `message` is given, lightweight otherwise. Fails if the tag exists.
    pub fn tag(
        &self,
        name: &str,
        target: ObjectId,
        message: Option<&str>,
    ) -> Result<ObjectId, StoreError> {
        let refname = RefName::tag(name)?;
        let backend = self.backend();
        let value = match message {
            None => target,
            Some(message) => {
                let kind = require(backend, &target)?.kind;
                let mut message = message.to_owned();
                if !message.ends_with('\n') {
                    message.push('\n');
                }
                let tag = gix_object::Tag {
                    target,
                    target_kind: kind,
                    name: name.into(),
                    tagger: Some(crate::commit::gix_actor_signature(
                        &self.inner.author,
                        self.inner.clock.now_posix(),
                    )),
                    message: message.into(),
                    signature: None,
                };
                backend.write_object(ObjectKind::Tag, &encode(&tag)?)?
            }
        };
        backend.update_ref(&refname, None, Some(value))?;
        Ok(value)
    }

    /// Follows annotated tags from `id` to the object they finally name.
    pub fn peel(&self, mut id: ObjectId) -> Result<ObjectId, StoreError> {
        let hash = self.backend().object_hash();
        for _ in 0..64 {
            let raw = require(self.backend(), &id)?;
            if raw.kind != ObjectKind::Tag {
                return Ok(id);
            }
            id = raw.into_tag(&id, hash)?.target;
        }
        Err(BackendError::MissingObject(id).into())
    }

    /// Reads commit `id`.
    pub fn commit(&self, id: &ObjectId) -> Result<CommitInfo, StoreError> {
        Ok(read_commit(self.backend(), id)?)
    }

    /// Every commit reachable from `id` (itself included).
    pub fn ancestors(&self, id: ObjectId) -> Result<HashSet<ObjectId>, StoreError> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([id]);
        while let Some(c) = queue.pop_front() {
            if seen.insert(c) {
                queue.extend(read_commit(self.backend(), &c)?.parents);
            }
        }
        Ok(seen)
    }

    /// Whether `ancestor` is reachable from `descendant` (or equal to it).
    pub fn is_ancestor(
        &self,
        ancestor: ObjectId,
        descendant: ObjectId,
    ) -> Result<bool, StoreError> {
        Ok(self.ancestors(descendant)?.contains(&ancestor))
    }

    /// The lowest common ancestors of `a` and `b` (git's merge bases): common
    /// ancestors that are not ancestors of another common ancestor. Usually
    /// one; several after criss-cross merges; none for unrelated histories.
    pub fn lca(&self, a: ObjectId, b: ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        let of_a = self.ancestors(a)?;
        let of_b = self.ancestors(b)?;
        let common: Vec<ObjectId> = of_a.intersection(&of_b).copied().collect();
        let mut redundant = HashSet::new();
        for c in &common {
            let mut queue: VecDeque<ObjectId> = read_commit(self.backend(), c)?.parents.into();
            while let Some(p) = queue.pop_front() {
                if redundant.insert(p) {
                    queue.extend(read_commit(self.backend(), &p)?.parents);
                }
            }
        }
        let mut out: Vec<ObjectId> = common
            .into_iter()
            .filter(|c| !redundant.contains(c))
            .collect();
        out.sort();
        Ok(out)
    }
}
