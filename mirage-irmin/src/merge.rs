//! Three-way merges of branches, path by path.
//!
//! The trees of both sides are compared with their lowest common ancestor's:
//! whatever changed on one side only is taken; where both sides changed a
//! value differently, the [`Merges`] function for that path decides (by
//! default: equal or conflict). Every conflict is reported with its path and
//! reason, and nothing is committed while any remains.
//!
//! Ready-made merge functions: [`equal_or_conflict`] (the default),
//! [`ours`], [`theirs`], [`counter`] (decimal counters add up) and
//! [`lines`] (line-based three-way merge of texts, as git does for files).

use std::collections::{BTreeMap, BTreeSet};

use gix_hash::ObjectId;
use gix_object::bstr::BString;
use mirage_core::{Key, WallClock};

use crate::backend::{Backend, require};
use crate::commit::{Info, read_commit, write_commit};
use crate::error::StoreError;
use crate::object::ObjectKind;
use crate::store::Store;
use crate::store::tree::{self, TreeEntry};

/// Why a path could not be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictReason {
    /// Both sides changed the value, differently.
    BothModified,
    /// Both sides created the value, differently.
    BothAdded,
    /// One side changed the value, the other removed it.
    ModifiedAndRemoved,
    /// One side has a value where the other has a directory.
    ValueAndDirectory,
    /// Both sides changed the same lines of a text ([`lines`]).
    OverlappingLines,
    /// A user merge function refused, saying why.
    Refused(String),
}

/// A path the merge could not decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Where.
    pub path: Key,
    /// Why.
    pub reason: ConflictReason,
}

/// The three versions of a value handed to a merge function: the common
/// ancestor's and each side's, `None` where the value does not exist.
#[derive(Debug, Clone, Copy)]
pub struct Versions<'a> {
    /// The common ancestor's value.
    pub base: Option<&'a [u8]>,
    /// Our side's value (the branch merged into).
    pub ours: Option<&'a [u8]>,
    /// Their side's value.
    pub theirs: Option<&'a [u8]>,
}

/// A merge function: the merged value (`None`: removed), or a conflict.
pub type MergeFn =
    dyn Fn(&Key, Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> + Send + Sync;

/// The merge functions of a merge, by path prefix; the longest prefix wins.
#[derive(Default)]
pub struct Merges {
    rules: Vec<(Key, Box<MergeFn>)>,
}

impl core::fmt::Debug for Merges {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|(k, _)| k))
            .finish()
    }
}

/// The default: both sides agree, or it is a conflict.
pub fn equal_or_conflict(_: &Key, v: Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> {
    if v.ours == v.theirs {
        return Ok(v.ours.map(<[u8]>::to_vec));
    }
    Err(match (v.base, v.ours, v.theirs) {
        (None, _, _) => ConflictReason::BothAdded,
        (Some(_), None, _) | (Some(_), _, None) => ConflictReason::ModifiedAndRemoved,
        _ => ConflictReason::BothModified,
    })
}

/// Our side wins.
pub fn ours(_: &Key, v: Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> {
    Ok(v.ours.map(<[u8]>::to_vec))
}

/// Their side wins.
pub fn theirs(_: &Key, v: Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> {
    Ok(v.theirs.map(<[u8]>::to_vec))
}

/// Decimal counters: both sides' increments are added (`base + Δours + Δtheirs`);
/// a missing value counts as 0, a non-number is a conflict.
pub fn counter(_: &Key, v: Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> {
    let num = |b: Option<&[u8]>| -> Result<i64, ConflictReason> {
        match b {
            None => Ok(0),
            Some(b) => core::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| ConflictReason::Refused("not a decimal counter".to_owned())),
        }
    };
    let (b, o, t) = (num(v.base)?, num(v.ours)?, num(v.theirs)?);
    let merged = o.wrapping_add(t).wrapping_sub(b);
    Ok(Some(merged.to_string().into_bytes()))
}

/// Line-based three-way merge of texts, as `git merge` does for files:
/// changes to different lines combine; changes to the same lines are a
/// [`ConflictReason::OverlappingLines`] conflict. A value created on both
/// sides merges against an empty base; a value removed on one side and
/// changed on the other is a conflict.
pub fn lines(_: &Key, v: Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> {
    match (v.ours, v.theirs) {
        (Some(o), Some(t)) => diffy::merge_bytes(v.base.unwrap_or_default(), o, t)
            .map(Some)
            .map_err(|_| ConflictReason::OverlappingLines),
        (None, None) => Ok(None),
        _ => Err(ConflictReason::ModifiedAndRemoved),
    }
}

impl Merges {
    /// Only the default function ([`equal_or_conflict`]).
    pub fn new() -> Merges {
        Merges::default()
    }

    /// Uses `f` for `prefix` and everything below it.
    pub fn with(
        mut self,
        prefix: Key,
        f: impl Fn(&Key, Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason>
        + Send
        + Sync
        + 'static,
    ) -> Merges {
        self.rules.push((prefix, Box::new(f)));
        self
    }

    fn resolve(&self, path: &Key, v: Versions<'_>) -> Result<Option<Vec<u8>>, ConflictReason> {
        match self
            .rules
            .iter()
            .filter(|(p, _)| path.starts_with(p))
            .max_by_key(|(p, _)| p.segments().len())
        {
            Some((_, f)) => f(path, v),
            None => equal_or_conflict(path, v),
        }
    }
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Their commit was already contained; nothing changed.
    UpToDate,
    /// Ours was an ancestor of theirs; the branch now points at theirs.
    FastForward(ObjectId),
    /// A merge commit with both parents was made.
    Merged(ObjectId),
}

struct Ctx<'a, B: ?Sized> {
    backend: &'a B,
    merges: &'a Merges,
    conflicts: Vec<Conflict>,
}

fn entries<B: Backend + ?Sized>(
    backend: &B,
    e: Option<TreeEntry>,
) -> Result<BTreeMap<BString, TreeEntry>, StoreError> {
    match e {
        Some(e) if e.is_tree() => Ok(tree::read_tree(backend, &e.id)?),
        _ => Ok(BTreeMap::new()),
    }
}

fn blob<B: Backend + ?Sized>(
    backend: &B,
    e: Option<TreeEntry>,
) -> Result<Option<bytes::Bytes>, StoreError> {
    match e {
        Some(e) => Ok(Some(require(backend, &e.id)?.into_blob(&e.id)?)),
        None => Ok(None),
    }
}

impl<B: Backend + ?Sized> Ctx<'_, B> {
    /// Merges one entry; `None` when the result is absent.
    fn merge(
        &mut self,
        path: &Key,
        base: Option<TreeEntry>,
        ours: Option<TreeEntry>,
        theirs: Option<TreeEntry>,
    ) -> Result<Option<TreeEntry>, StoreError> {
        if ours == theirs {
            return Ok(ours);
        }
        if ours == base {
            return Ok(theirs);
        }
        if theirs == base {
            return Ok(ours);
        }
        let is_tree = |e: &Option<TreeEntry>| e.is_some_and(|e| e.is_tree());
        let is_blob = |e: &Option<TreeEntry>| e.is_some_and(|e| !e.is_tree());
        let sides = [&base, &ours, &theirs];
        if sides.iter().all(|e| e.is_none() || is_tree(e)) {
            return self.merge_trees(path, base, ours, theirs);
        }
        if sides.iter().all(|e| e.is_none() || is_blob(e)) {
            let (b, o, t) = (
                blob(self.backend, base)?,
                blob(self.backend, ours)?,
                blob(self.backend, theirs)?,
            );
            let versions = Versions {
                base: b.as_deref(),
                ours: o.as_deref(),
                theirs: t.as_deref(),
            };
            return match self.merges.resolve(path, versions) {
                Ok(None) => Ok(None),
                Ok(Some(value)) => {
                    let id = self.backend.write_object(ObjectKind::Blob, &value)?;
                    // Keep a mode change made on one side only.
                    let mode = match (base, ours, theirs) {
                        (Some(b), Some(o), Some(t)) if o.mode == b.mode => t.mode,
                        (_, Some(o), _) => o.mode,
                        (_, None, Some(t)) => t.mode,
                        _ => tree::blob_mode(),
                    };
                    Ok(Some(TreeEntry { mode, id }))
                }
                Err(reason) => {
                    self.conflicts.push(Conflict {
                        path: path.clone(),
                        reason,
                    });
                    Ok(ours)
                }
            };
        }
        // The base had another kind than both sides: merge the sides without it.
        if is_tree(&ours) && is_tree(&theirs) {
            return self.merge_trees(path, None, ours, theirs);
        }
        // A value on one side, a directory on the other.
        self.conflicts.push(Conflict {
            path: path.clone(),
            reason: ConflictReason::ValueAndDirectory,
        });
        Ok(ours)
    }

    fn merge_trees(
        &mut self,
        path: &Key,
        base: Option<TreeEntry>,
        ours: Option<TreeEntry>,
        theirs: Option<TreeEntry>,
    ) -> Result<Option<TreeEntry>, StoreError> {
        let (b, o, t) = (
            entries(self.backend, base)?,
            entries(self.backend, ours)?,
            entries(self.backend, theirs)?,
        );
        let names: BTreeSet<&BString> = b.keys().chain(o.keys()).chain(t.keys()).collect();
        let mut out = BTreeMap::new();
        for name in names {
            let segment = String::from_utf8(name.to_vec()).ok();
            let child = segment.and_then(|s| path.join(s).ok()).ok_or_else(|| {
                StoreError::BadEntryName {
                    tree: ours
                        .or(theirs)
                        .map(|e| e.id)
                        .unwrap_or_else(|| ObjectId::null(self.backend.object_hash())),
                    name: String::from_utf8_lossy(name).into_owned(),
                }
            })?;
            if let Some(e) = self.merge(
                &child,
                b.get(name).copied(),
                o.get(name).copied(),
                t.get(name).copied(),
            )? {
                out.insert(name.clone(), e);
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        let id = tree::write_tree(self.backend, &out)?;
        Ok(Some(TreeEntry {
            mode: tree::tree_mode(),
            id,
        }))
    }
}

/// Merges the trees `ours` and `theirs` against `base`; the merged root tree or every conflict.
pub fn merge_trees<B: Backend + ?Sized>(
    backend: &B,
    merges: &Merges,
    base: Option<ObjectId>,
    ours: ObjectId,
    theirs: ObjectId,
) -> Result<ObjectId, StoreError> {
    let as_entry = |id| TreeEntry {
        mode: tree::tree_mode(),
        id,
    };
    let mut ctx = Ctx {
        backend,
        merges,
        conflicts: Vec::new(),
    };
    let merged = ctx.merge_trees(
        &Key::root(),
        base.map(as_entry),
        Some(as_entry(ours)),
        Some(as_entry(theirs)),
    )?;
    if !ctx.conflicts.is_empty() {
        return Err(StoreError::Conflicts(ctx.conflicts));
    }
    match merged {
        Some(e) => Ok(e.id),
        None => {
            let empty = crate::object::encode(&gix_object::Tree::empty())?;
            Ok(backend.write_object(ObjectKind::Tree, &empty)?)
        }
    }
}

impl<B: Backend, C: WallClock> Store<B, C> {
    /// The tree to merge against for `a` and `b`: their lowest common
    /// ancestor's; with several, their own merge (recursively, as git's
    /// "recursive" strategy); with none, no base.
    fn merge_base_tree(
        &self,
        a: ObjectId,
        b: ObjectId,
        merges: &Merges,
        depth: u32,
    ) -> Result<Option<ObjectId>, StoreError> {
        let bases = self.repo.lca(a, b)?;
        let backend = self.repo.backend();
        let mut iter = bases.into_iter();
        let Some(first) = iter.next() else {
            return Ok(None);
        };
        let mut acc_commit = first;
        let mut acc_tree = read_commit(backend, &first)?.tree;
        for next in iter {
            if depth > 8 {
                return Err(StoreError::AmbiguousMergeBase { a, b });
            }
            let base = self.merge_base_tree(acc_commit, next, merges, depth + 1)?;
            let next_tree = read_commit(backend, &next)?.tree;
            acc_tree =
                merge_trees(backend, merges, base, acc_tree, next_tree).map_err(|e| match e {
                    StoreError::Conflicts(_) => StoreError::AmbiguousMergeBase { a, b },
                    other => other,
                })?;
            acc_commit = next;
        }
        Ok(Some(acc_tree))
    }

    /// Merges commit `theirs` into this store: fast-forwards when possible,
    /// otherwise makes a merge commit (parents: our head, `theirs`) using
    /// `merges` where both sides changed a value. With conflicts nothing is
    /// committed and [`StoreError::Conflicts`] lists them all.
    pub async fn merge_commit(
        &self,
        theirs: ObjectId,
        merges: &Merges,
        info: Info,
    ) -> Result<MergeOutcome, StoreError> {
        let mut outcome = MergeOutcome::UpToDate;
        self.update(|store, ours| {
            let Some(ours) = ours else {
                outcome = MergeOutcome::FastForward(theirs);
                return Ok(Some(theirs));
            };
            let repo = &store.repo;
            if repo.is_ancestor(theirs, ours)? {
                outcome = MergeOutcome::UpToDate;
                return Ok(None);
            }
            if repo.is_ancestor(ours, theirs)? {
                outcome = MergeOutcome::FastForward(theirs);
                return Ok(Some(theirs));
            }
            let backend = repo.backend();
            let base = store.merge_base_tree(ours, theirs, merges, 0)?;
            let our_tree = read_commit(backend, &ours)?.tree;
            let their_tree = read_commit(backend, &theirs)?.tree;
            let tree = merge_trees(backend, merges, base, our_tree, their_tree)?;
            let id = write_commit(
                backend,
                tree,
                &[ours, theirs],
                &info,
                repo.clock().now_posix(),
            )?;
            outcome = MergeOutcome::Merged(id);
            Ok(Some(id))
        })?;
        Ok(outcome)
    }

    /// Merges the head of `other` into this store; see [`Store::merge_commit`].
    pub async fn merge_from(
        &self,
        other: &Store<B, C>,
        merges: &Merges,
        info: Info,
    ) -> Result<MergeOutcome, StoreError> {
        match other.head_sync()? {
            None => Ok(MergeOutcome::UpToDate),
            Some(theirs) => self.merge_commit(theirs, merges, info).await,
        }
    }
}
