//! History of a path: the commits that changed it, newest first, with git's
//! default history simplification (a merge that kept one parent's version of
//! the path is skipped, and only that parent is followed), as `git log -- <path>`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use std::sync::PoisonError;

use gix_hash::ObjectId;
use mirage_core::{Key, WallClock};

use super::{Store, TreeEntry, tree};
use crate::backend::Backend;
use crate::commit::{CommitInfo, read_commit};
use crate::error::StoreError;

/// How many paths [`LastModifiedCache`] remembers before starting over.
const CACHE_PATHS: usize = 4096;

/// Remembered [`Store::last_modified`] answers, valid for one head.
#[derive(Debug, Default)]
pub struct LastModifiedCache {
    head: Option<ObjectId>,
    answers: HashMap<Key, Option<CommitInfo>>,
}

struct Queued(CommitInfo);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .commit_time
            .cmp(&other.0.commit_time)
            .then_with(|| self.0.id.cmp(&other.0.id))
    }
}

impl<B: Backend, C: WallClock> Store<B, C> {
    fn entry_in(&self, commit: &CommitInfo, path: &Key) -> Result<Option<TreeEntry>, StoreError> {
        tree::lookup(self.backend(), Some(commit.tree), path)
    }

    /// Walks history from the head; stops after `limit` matching commits.
    fn walk(&self, path: &Key, limit: usize) -> Result<Vec<CommitInfo>, StoreError> {
        self.walk_from(self.head_sync()?, path, limit)
    }

    fn walk_from(
        &self,
        head: Option<ObjectId>,
        path: &Key,
        limit: usize,
    ) -> Result<Vec<CommitInfo>, StoreError> {
        let mut out = Vec::new();
        let Some(head) = head else {
            return Ok(out);
        };
        let mut seen = HashSet::from([head]);
        let mut queue = BinaryHeap::from([Queued(read_commit(self.backend(), &head)?)]);
        while let Some(Queued(commit)) = queue.pop() {
            let mine = self.entry_in(&commit, path)?;
            let mut parents = Vec::with_capacity(commit.parents.len());
            for p in &commit.parents {
                let info = read_commit(self.backend(), p)?;
                let theirs = self.entry_in(&info, path)?;
                parents.push((info, theirs));
            }
            let same: Option<usize> = parents.iter().position(|(_, e)| *e == mine);
            let follow: Vec<CommitInfo> = match same {
                // Treesame to a parent: the change came from there.
                Some(i) => vec![parents.swap_remove(i).0],
                None => {
                    if mine.is_some() || !parents.is_empty() {
                        out.push(commit.clone());
                        if out.len() >= limit {
                            break;
                        }
                    }
                    parents.into_iter().map(|(c, _)| c).collect()
                }
            };
            for c in follow {
                if seen.insert(c.id) {
                    queue.push(Queued(c));
                }
            }
        }
        Ok(out)
    }

    /// The commits that changed `path` (created, modified or removed it, or
    /// anything below it), newest first.
    pub async fn history(&self, path: &Key) -> Result<Vec<CommitInfo>, StoreError> {
        self.walk(path, usize::MAX)
    }

    /// The most recent commit that changed `path`, `None` if none did.
    /// Answers are remembered until the head moves, so serving many reads
    /// of an unchanged branch walks its history once per path.
    pub async fn last_modified(&self, path: &Key) -> Result<Option<CommitInfo>, StoreError> {
        let head = self.head_sync()?;
        {
            let cache = self
                .last_modified
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if cache.head == head
                && let Some(answer) = cache.answers.get(path)
            {
                return Ok(answer.clone());
            }
        }
        let answer = self.walk_from(head, path, 1)?.into_iter().next();
        let mut cache = self
            .last_modified
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.head != head || cache.answers.len() >= CACHE_PATHS {
            cache.head = head;
            cache.answers.clear();
        }
        cache.answers.insert(path.clone(), answer.clone());
        Ok(answer)
    }

    /// The ids of [`Store::history`].
    pub async fn history_ids(&self, path: &Key) -> Result<Vec<ObjectId>, StoreError> {
        Ok(self
            .walk(path, usize::MAX)?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }
}
