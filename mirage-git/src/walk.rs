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
    common: HashSet<ObjectId>,
}

impl HaveWalk {
    /// Starts at `tips` (ids missing from the store are skipped).
    pub fn new(tips: impl IntoIterator<Item = ObjectId>) -> Self {
        let mut seen = HashSet::new();
        let queue = tips.into_iter().filter(|t| seen.insert(*t)).collect();
        HaveWalk {
            queue,
            seen,
            common: HashSet::new(),
        }
    }

    /// Records that the server has `id`, hence all its ancestors: none of
    /// them is offered again.
    pub fn mark_common<S: ObjectStore>(&mut self, store: &S, id: ObjectId) -> Result<(), Error> {
        let mut stack = vec![id];
        while let Some(c) = stack.pop() {
            if !self.common.insert(c) {
                continue;
            }
            self.seen.insert(c);
            if let Some(parents) = commit_parents(store, &c)? {
                stack.extend(parents.into_iter().filter(|p| !self.common.contains(p)));
            }
        }
        Ok(())
    }

    /// The next commit to offer, or `None` when the history is exhausted.
    pub fn next<S: ObjectStore>(&mut self, store: &S) -> Result<Option<ObjectId>, Error> {
        while let Some(id) = self.queue.pop_front() {
            if self.common.contains(&id) {
                continue;
            }
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

/// Whether `ancestor` is `descendant` or one of its ancestors (following
/// parents in `store`; a missing commit ends that line of the walk). This
/// is the fast-forward check a caller makes before pushing or moving a
/// branch: an update from `old` to `new` is a fast-forward when
/// `is_ancestor(store, old, new)`.
pub fn is_ancestor<S: ObjectStore>(
    store: &S,
    ancestor: ObjectId,
    descendant: ObjectId,
) -> Result<bool, Error> {
    let mut seen = HashSet::new();
    let mut stack = vec![descendant];
    while let Some(c) = stack.pop() {
        if c == ancestor {
            return Ok(true);
        }
        if !seen.insert(c) {
            continue;
        }
        if let Some(parents) = commit_parents(store, &c)? {
            stack.extend(parents);
        }
    }
    Ok(false)
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
    // (id, reached as a parent)
    let mut stack: Vec<(ObjectId, bool)> = tips.iter().map(|t| (*t, false)).collect();
    while let Some((id, as_parent)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if remote_commits.contains(&id) {
            boundary.push(id);
            continue;
        }
        let Some((kind, data)) = read(store, &id)? else {
            // A parent missing locally (a shallow history) must be on the
            // remote already; if not, the remote refuses the pack.
            if as_parent {
                continue;
            }
            return Err(Error::MissingObject(id));
        };
        match kind {
            ObjectKind::Commit => {
                for (next, is_parent) in links(&id, kind, &data)? {
                    if is_parent {
                        stack.push((next, true));
                    }
                }
                new_commits.push(id);
            }
            ObjectKind::Tag => {
                new_commits.push(id);
                stack.extend(
                    links(&id, kind, &data)?
                        .into_iter()
                        .map(|(t, _)| (t, false)),
                );
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

#[cfg(test)]
mod test {
    use super::*;
    use crate::store::MemStore;

    fn commit(store: &MemStore, parents: &[ObjectId], n: u32) -> ObjectId {
        let blob = store
            .write(ObjectKind::Blob, format!("{n}").as_bytes())
            .unwrap();
        let mut tree = b"100644 f\0".to_vec();
        tree.extend_from_slice(blob.as_bytes());
        let tree = store.write(ObjectKind::Tree, &tree).unwrap();
        let mut text = format!("tree {tree}\n");
        for p in parents {
            text.push_str(&format!("parent {p}\n"));
        }
        text.push_str(&format!(
            "author A <a@b> {n} +0000\ncommitter A <a@b> {n} +0000\n\nc{n}\n"
        ));
        store.write(ObjectKind::Commit, text.as_bytes()).unwrap()
    }

    #[test]
    fn test_is_ancestor_and_haves() {
        let s = MemStore::new();
        let a = commit(&s, &[], 1);
        let b = commit(&s, &[a], 2);
        let c = commit(&s, &[a], 3);
        let m = commit(&s, &[b, c], 4);
        assert!(is_ancestor(&s, a, m).unwrap());
        assert!(is_ancestor(&s, m, m).unwrap());
        assert!(!is_ancestor(&s, b, c).unwrap());
        assert!(!is_ancestor(&s, m, a).unwrap());

        let mut walk = HaveWalk::new([m]);
        assert_eq!(walk.next(&s).unwrap(), Some(m));
        walk.mark_common(&s, b).unwrap();
        // b and a are common now: only c is left to offer.
        assert_eq!(walk.next(&s).unwrap(), Some(c));
        assert_eq!(walk.next(&s).unwrap(), None);
    }

    #[test]
    fn test_objects_to_push_and_connectivity() {
        let s = MemStore::new();
        let a = commit(&s, &[], 1);
        let b = commit(&s, &[a], 2);
        // The remote has a: b, its tree and blob are new.
        let ids = objects_to_push(&s, &[b], &[a]).unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[0], b);
        // The remote has nothing: everything.
        assert_eq!(objects_to_push(&s, &[b], &[]).unwrap().len(), 6);
        let all: HashSet<ObjectId> = s.ids().into_iter().collect();
        check_connected(&s, &[b], &[], &all).unwrap();
        // With b shallow, a is not needed.
        let only_b: HashSet<ObjectId> = objects_to_push(&s, &[b], &[a])
            .unwrap()
            .into_iter()
            .collect();
        let partial = MemStore::new();
        for id in &only_b {
            let (k, d) = s.read(id).unwrap().unwrap();
            partial.write(k, &d).unwrap();
        }
        check_connected(&partial, &[b], &[b], &only_b).unwrap();
        assert!(matches!(
            check_connected(&partial, &[b], &[], &only_b),
            Err(Error::Protocol(crate::error::ProtocolError::Incomplete(id))) if id == a
        ));
    }
}
