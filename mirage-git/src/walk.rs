//! Walking the object graph of an [`ObjectStore`]: the commits to offer as
//! `have`s, the objects a push must send, and the connectivity check after
//! a fetch.

use std::collections::{HashSet, VecDeque};

use gix_hash::ObjectId;

use crate::error::Error;
use crate::store::{ObjectKind, ObjectStore};

fn read<S: ObjectStore>(store: &S, id: &ObjectId) -> Result<Option<(ObjectKind, Vec<u8>)>, Error> {
    store.read(id).map_err(|e| Error::Store(Box::new(e)))
}

/// What an object points to: a commit's tree and parents, a tree's
/// entries (submodule commits excluded), a tag's target.
fn links(id: &ObjectId, kind: ObjectKind, data: &[u8]) -> Result<Vec<(ObjectId, bool)>, Error> {
    let hash = gix_hash::Kind::Sha1;
    let bad = || Error::MalformedObject(*id);
    Ok(match kind {
        ObjectKind::Blob => Vec::new(),
        ObjectKind::Commit => {
            let c = gix_object::CommitRef::from_bytes(data, hash).map_err(|_| bad())?;
            let mut v = vec![(c.tree(), false)];
            v.extend(c.parents().map(|p| (p, true)));
            v
        }
        ObjectKind::Tree => {
            let t = gix_object::TreeRef::from_bytes(data, hash).map_err(|_| bad())?;
            t.entries
                .iter()
                .filter(|e| !e.mode.is_commit())
                .map(|e| (e.oid.to_owned(), false))
                .collect()
        }
        ObjectKind::Tag => {
            let t = gix_object::TagRef::from_bytes(data, hash).map_err(|_| bad())?;
            vec![(t.target(), false)]
        }
    })
}

/// The parents of commit `id` (peeling tags), or `None` if it is missing
/// or not a commit.
fn commit_parents<S: ObjectStore>(
    store: &S,
    id: &ObjectId,
) -> Result<Option<Vec<ObjectId>>, Error> {
    let mut id = *id;
    for _ in 0..16 {
        let Some((kind, data)) = read(store, &id)? else {
            return Ok(None);
        };
        match kind {
            ObjectKind::Commit => {
                return Ok(Some(
                    links(&id, kind, &data)?
                        .into_iter()
                        .filter(|(_, parent)| *parent)
                        .map(|(p, _)| p)
                        .collect(),
                ));
            }
            ObjectKind::Tag => id = links(&id, kind, &data)?[0].0,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Commits reachable from `tips`, breadth first (newest generations
/// first), each once: the `have` lines of a negotiation.
#[derive(Debug)]
pub struct HaveWalk {
    queue: VecDeque<ObjectId>,
    seen: HashSet<ObjectId>,
}

impl HaveWalk {
    /// Starts at `tips` (ids missing from the store are skipped).
    pub fn new(tips: impl IntoIterator<Item = ObjectId>) -> Self {
        let mut seen = HashSet::new();
        let queue = tips.into_iter().filter(|t| seen.insert(*t)).collect();
        HaveWalk { queue, seen }
    }

    /// Stops walking below `id` (the server has it, so it has its ancestors).
    pub fn mark_common(&mut self, id: ObjectId) {
        self.seen.insert(id);
        self.queue.retain(|q| *q != id);
    }

    /// The next commit to offer, or `None` when the history is exhausted.
    pub fn next<S: ObjectStore>(&mut self, store: &S) -> Result<Option<ObjectId>, Error> {
        while let Some(id) = self.queue.pop_front() {
            let Some(parents) = commit_parents(store, &id)? else {
                continue;
            };
            for p in parents {
                if self.seen.insert(p) {
                    self.queue.push_back(p);
                }
            }
            return Ok(Some(id));
        }
        Ok(None)
    }
}

/// All objects reachable from `tips` that are in `store`, stopping at
/// missing objects (the complete closure when the store is complete).
fn closure<S: ObjectStore>(
    store: &S,
    tips: impl IntoIterator<Item = ObjectId>,
    commits_only: bool,
) -> Result<HashSet<ObjectId>, Error> {
    let mut seen = HashSet::new();
    let mut stack: Vec<ObjectId> = tips.into_iter().collect();
    while let Some(id) = stack.pop() {
        if seen.contains(&id) {
            continue;
        }
        let Some((kind, data)) = read(store, &id)? else {
            continue;
        };
        seen.insert(id);
        for (next, is_parent) in links(&id, kind, &data)? {
            if (!commits_only || is_parent || kind == ObjectKind::Tag) && !seen.contains(&next) {
                stack.push(next);
            }
        }
    }
    Ok(seen)
}

/// The objects a push of `tips` must send to a remote that has `remote`
/// (its advertised ref values; those we do not have locally are ignored),
/// in an order that puts commits before their trees and blobs.
pub fn objects_to_push<S: ObjectStore>(
    store: &S,
    tips: &[ObjectId],
    remote: &[ObjectId],
) -> Result<Vec<ObjectId>, Error> {
    // Commits (and tags) the remote has, then every tree and blob of those
    // commits that are parents of what we send (the boundary).
    let remote_commits = closure(store, remote.iter().copied(), true)?;
    let mut new_commits = Vec::new();
    let mut boundary = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<ObjectId> = tips.to_vec();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if remote_commits.contains(&id) {
            boundary.push(id);
            continue;
        }
        let (kind, data) = read(store, &id)?.ok_or(Error::MissingObject(id))?;
        match kind {
            ObjectKind::Commit => {
                for (next, is_parent) in links(&id, kind, &data)? {
                    if is_parent {
                        stack.push(next);
                    }
                }
                new_commits.push(id);
            }
            ObjectKind::Tag => {
                new_commits.push(id);
                stack.extend(links(&id, kind, &data)?.into_iter().map(|(t, _)| t));
            }
            // A tree or blob tip is sent with its closure below.
            _ => new_commits.push(id),
        }
    }
    let boundary_trees: Vec<ObjectId> = boundary
        .iter()
        .filter_map(|c| match read(store, c) {
            Ok(Some((ObjectKind::Commit, data))) => {
                gix_object::CommitRef::from_bytes(&data, gix_hash::Kind::Sha1)
                    .ok()
                    .map(|c| c.tree())
            }
            _ => None,
        })
        .collect();
    let mut known = closure(store, boundary_trees, false)?;
    known.extend(remote_commits);

    let mut out = Vec::new();
    let mut trees = Vec::new();
    for id in &new_commits {
        out.push(*id);
        let (kind, data) = read(store, id)?.ok_or(Error::MissingObject(*id))?;
        match kind {
            ObjectKind::Commit => trees.extend(
                links(id, kind, &data)?
                    .into_iter()
                    .filter(|l| !l.1)
                    .map(|l| l.0),
            ),
            ObjectKind::Tree => trees.extend(links(id, kind, &data)?.into_iter().map(|l| l.0)),
            _ => {}
        }
    }
    let mut sent: HashSet<ObjectId> = out.iter().copied().collect();
    while let Some(id) = trees.pop() {
        if known.contains(&id) || !sent.insert(id) {
            continue;
        }
        let (kind, data) = read(store, &id)?.ok_or(Error::MissingObject(id))?;
        if kind == ObjectKind::Tree {
            trees.extend(links(&id, kind, &data)?.into_iter().map(|l| l.0));
        }
        out.push(id);
    }
    Ok(out)
}

/// Checks that every object reachable from `tips` is in `store`. Only
/// objects in `new` (those just received) are descended into: objects that
/// were stored before are taken as complete, as git's connectivity check
/// does. Parents of the `shallow` commits are not required.
pub fn check_connected<S: ObjectStore>(
    store: &S,
    tips: &[ObjectId],
    shallow: &[ObjectId],
    new: &HashSet<ObjectId>,
) -> Result<(), Error> {
    let shallow: HashSet<ObjectId> = shallow.iter().copied().collect();
    let mut seen = HashSet::new();
    let mut stack: Vec<ObjectId> = tips.to_vec();
    let missing = |id| Error::Protocol(crate::error::ProtocolError::Incomplete(id));
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if !new.contains(&id) {
            if !store.contains(&id).map_err(|e| Error::Store(Box::new(e)))? {
                return Err(missing(id));
            }
            continue;
        }
        let (kind, data) = read(store, &id)?.ok_or_else(|| missing(id))?;
        for (next, is_parent) in links(&id, kind, &data)? {
            if is_parent && shallow.contains(&id) {
                continue;
            }
            if !seen.contains(&next) {
                stack.push(next);
            }
        }
    }
    Ok(())
}
