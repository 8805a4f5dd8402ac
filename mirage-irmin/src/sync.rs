//! Sync with Git remotes (feature `sync`): clone, fetch, pull and push a
//! [`Repo`] over any mirage-core [`Stack`], through the mirage-git client.
//!
//! The wire protocol lives in mirage-git (as ocaml-git sits below
//! irmin-git); this module gives it the repository's objects through
//! [`Objects`] and moves the repository's references with compare-and-swap
//! once a fetch has verified and stored everything.
//!
//! - [`Repo::fetch`] brings the remote's branches and tags into
//!   `refs/remotes/<name>/…` and `refs/tags/…`.
//! - [`Repo::pull`] fetches one branch and moves the local branch:
//!   fast-forward, merge (with the store's three-way merge) or mirror, as
//!   [`PullMode`] says; refusing never loses a local commit.
//! - [`Repo::push`] sends a local branch; a non-fast-forward push is refused
//!   unless forced, and a lease on the value last seen protects others'
//!   pushes; the remote's rejections come back as errors, never silently.

use gix_hash::{ObjectId, oid};
use mirage_core::{Stack, WallClock};
use mirage_git::{Client, Expect, FetchRequest, ObjectStore, RefUpdate};
pub use mirage_git::{FetchOutcome, PushOutcome, Url};

use crate::backend::Backend;
use crate::commit::Info;
use crate::error::{BackendError, CasError, StoreError};
use crate::merge::{MergeOutcome, Merges};
use crate::object::ObjectKind;
use crate::refs::RefName;
use crate::repo::Repo;

/// A backend's objects as mirage-git sees them.
#[derive(Debug)]
pub struct Objects<'a, B: ?Sized>(pub &'a B);

impl<B: Backend + ?Sized> ObjectStore for Objects<'_, B> {
    type Error = BackendError;

    fn contains(&self, id: &oid) -> Result<bool, BackendError> {
        self.0.contains_object(id)
    }

    fn read(&self, id: &oid) -> Result<Option<(ObjectKind, Vec<u8>)>, BackendError> {
        Ok(self.0.read_object(id)?.map(|o| (o.kind, o.data.to_vec())))
    }

    fn write(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, BackendError> {
        self.0.write_object(kind, data)
    }
}

/// Why a sync operation failed. Local references are unchanged unless the
/// variant says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Talking to the remote failed (network, protocol, a bad pack, a push
    /// the remote rejected).
    #[error("{url}: {source}")]
    Remote {
        /// The remote.
        url: String,
        /// What went wrong.
        source: mirage_git::Error,
    },
    /// The local repository failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The remote has no such branch.
    #[error("{url} has no branch {branch:?}")]
    NoSuchBranch {
        /// The remote.
        url: String,
        /// The branch asked for.
        branch: String,
    },
    /// The local branch has commits the remote lacks and the pull was
    /// fast-forward only; nothing was changed.
    #[error(
        "branch {branch:?} has diverged from the remote ({local} vs {remote}); not a fast-forward"
    )]
    Diverged {
        /// The branch.
        branch: String,
        /// Our head.
        local: ObjectId,
        /// Theirs.
        remote: ObjectId,
    },
    /// The remote branch has commits we lack and the push was not forced.
    #[error("pushing {branch:?} would drop the remote's commit {remote}; pull first or force")]
    NotFastForward {
        /// The branch.
        branch: String,
        /// The remote's head.
        remote: ObjectId,
    },
    /// A merge found conflicts; the branch was not moved.
    #[error("merging the remote's {branch:?} conflicts at {} path(s)", conflicts.len())]
    Conflicts {
        /// The branch.
        branch: String,
        /// Where and why.
        conflicts: Vec<crate::merge::Conflict>,
    },
}

/// What [`Repo::pull`] does when the local branch has commits of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullMode {
    /// Only fast-forward; a diverged branch is an error.
    FastForward,
    /// Merge the remote's head into the local branch (three-way, with the
    /// default merge functions); conflicts are an error.
    Merge,
    /// Make the local branch the remote's head, whatever it held (an
    /// appliance that only serves what operators push).
    Mirror,
}

/// What a pull did to the local branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    /// Already at (or ahead of) the remote's head.
    UpToDate(ObjectId),
    /// Moved forward (or, in mirror mode, across) to the remote's head.
    Moved {
        /// The previous head, if the branch existed.
        from: Option<ObjectId>,
        /// The new head.
        to: ObjectId,
    },
    /// A merge commit joins both histories.
    Merged(ObjectId),
}

impl<B: Backend, C: WallClock> Repo<B, C> {
    fn remote_err(url: &Url, source: mirage_git::Error) -> SyncError {
        SyncError::Remote {
            url: url.to_string(),
            source,
        }
    }

    fn local_tips(&self) -> Result<Vec<ObjectId>, StoreError> {
        Ok(self
            .backend()
            .list_refs("refs/")?
            .into_iter()
            .map(|(_, id)| id)
            .collect())
    }

    /// Fetches every branch and tag of `url`: branches land in
    /// `refs/remotes/<remote>/<branch>`, tags in `refs/tags/<tag>` (an
    /// existing tag with another value is left alone and logged).
    pub async fn fetch<S: Stack>(
        &self,
        stack: &S,
        url: &Url,
        remote: &str,
    ) -> Result<FetchOutcome, SyncError> {
        let request = FetchRequest {
            refs: vec!["refs/heads/*".into(), "refs/tags/*".into()],
            local_tips: self.local_tips()?,
            ..FetchRequest::default()
        };
        let objects = Objects(self.backend());
        let outcome = Client::new(stack)
            .fetch(url, &objects, &request, &mut |_| {})
            .await
            .map_err(|e| Self::remote_err(url, e))?;
        for r in &outcome.refs {
            let Some(id) = r.id else { continue };
            let local = if let Some(branch) = r.name.strip_prefix("refs/heads/") {
                RefName::new(&format!("refs/remotes/{remote}/{branch}"))
            } else {
                RefName::new(&r.name)
            };
            let Ok(local) = local else {
                log::warn!(
                    "{url}: skipping reference {:?} with an invalid name",
                    r.name
                );
                continue;
            };
            let current = self
                .backend()
                .resolve_ref(&local)
                .map_err(StoreError::from)?;
            if current == Some(id) {
                continue;
            }
            if local.tag_name().is_some() && current.is_some() {
                log::warn!("{url}: tag {} moved on the remote; keeping ours", r.name);
                continue;
            }
            self.set_ref(&local, current, id)?;
        }
        Ok(outcome)
    }

    fn set_ref(
        &self,
        name: &RefName,
        expected: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<(), StoreError> {
        match self.backend().update_ref(name, expected, Some(new)) {
            Ok(()) => Ok(()),
            Err(CasError::Mismatch { .. }) => Err(StoreError::Contended {
                branch: name.to_string(),
                attempts: 1,
            }),
            Err(CasError::Backend(e)) => Err(e.into()),
        }
    }

    /// Fetches `branch` from `url` and brings the local branch of the same
    /// name up to it, as `mode` says. The local branch moves by
    /// compare-and-swap: a commit made locally meanwhile is never lost.
    pub async fn pull<S: Stack>(
        &self,
        stack: &S,
        url: &Url,
        branch: &str,
        mode: PullMode,
        info: Info,
    ) -> Result<Pulled, SyncError> {
        let name = format!("refs/heads/{branch}");
        let store = self.branch(branch)?;
        let request = FetchRequest {
            refs: vec![name.clone()],
            local_tips: self.local_tips()?,
            ..FetchRequest::default()
        };
        let objects = Objects(self.backend());
        let outcome = Client::new(stack)
            .fetch(url, &objects, &request, &mut |_| {})
            .await
            .map_err(|e| Self::remote_err(url, e))?;
        let Some(theirs) = outcome.get(&name) else {
            return Err(SyncError::NoSuchBranch {
                url: url.to_string(),
                branch: branch.to_owned(),
            });
        };
        let ours = store.head().await?;
        match ours {
            Some(ours) if ours == theirs => return Ok(Pulled::UpToDate(ours)),
            Some(ours) if self.is_ancestor(theirs, ours)? && mode != PullMode::Mirror => {
                return Ok(Pulled::UpToDate(ours));
            }
            Some(ours) if !self.is_ancestor(ours, theirs)? => match mode {
                PullMode::FastForward => {
                    return Err(SyncError::Diverged {
                        branch: branch.to_owned(),
                        local: ours,
                        remote: theirs,
                    });
                }
                PullMode::Merge => {
                    return match store.merge_commit(theirs, &Merges::default(), info).await {
                        Ok(MergeOutcome::Merged(id)) => Ok(Pulled::Merged(id)),
                        Ok(MergeOutcome::FastForward(id)) => Ok(Pulled::Moved {
                            from: Some(ours),
                            to: id,
                        }),
                        Ok(MergeOutcome::UpToDate) => Ok(Pulled::UpToDate(ours)),
                        Err(StoreError::Conflicts(conflicts)) => Err(SyncError::Conflicts {
                            branch: branch.to_owned(),
                            conflicts,
                        }),
                        Err(e) => Err(e.into()),
                    };
                }
                PullMode::Mirror => {}
            },
            _ => {}
        }
        if !store.test_and_set_head(ours, Some(theirs)).await? {
            return Err(StoreError::Contended {
                branch: branch.to_owned(),
                attempts: 1,
            }
            .into());
        }
        Ok(Pulled::Moved {
            from: ours,
            to: theirs,
        })
    }

    /// Pushes the local `branch` to the remote's branch of the same name.
    /// Unless `force`, the remote's head must be an ancestor of ours (we
    /// fetch first to know); either way the push carries a lease on the
    /// value we saw, so a push that lands meanwhile is not overwritten.
    pub async fn push<S: Stack>(
        &self,
        stack: &S,
        url: &Url,
        branch: &str,
        force: bool,
    ) -> Result<PushOutcome, SyncError> {
        let name = format!("refs/heads/{branch}");
        let ours = self.branch(branch)?.head().await?;
        let client = Client::new(stack);
        let remote = client
            .ls_refs(url, core::slice::from_ref(&name))
            .await
            .map_err(|e| Self::remote_err(url, e))?
            .into_iter()
            .find(|r| r.name == name)
            .and_then(|r| r.id);
        if let (Some(theirs), Some(ours)) = (remote, ours) {
            let known = self
                .backend()
                .contains_object(&theirs)
                .map_err(StoreError::from)?;
            let fast_forward = known && self.is_ancestor(theirs, ours)?;
            if !force && !fast_forward {
                return Err(SyncError::NotFastForward {
                    branch: branch.to_owned(),
                    remote: theirs,
                });
            }
        }
        let update = RefUpdate {
            name,
            new: ours,
            expect: match remote {
                Some(id) => Expect::Value(id),
                None => Expect::Absent,
            },
        };
        let objects = Objects(self.backend());
        client
            .push(url, &objects, &[update], &mut |_| {})
            .await
            .map_err(|e| Self::remote_err(url, e))
    }

    /// Clones `url` into this (empty) repository: fetches everything, then
    /// creates each remote branch locally and points `HEAD` at the remote's
    /// default branch.
    pub async fn clone_from<S: Stack>(
        &self,
        stack: &S,
        url: &Url,
    ) -> Result<FetchOutcome, SyncError> {
        let outcome = self.fetch(stack, url, "origin").await?;
        let head = Client::new(stack)
            .ls_refs(url, &["HEAD".to_owned()])
            .await
            .map_err(|e| Self::remote_err(url, e))?
            .into_iter()
            .find(|r| r.name == "HEAD")
            .and_then(|r| r.symref_target);
        for r in &outcome.refs {
            if let (Some(branch), Some(id)) = (r.name.strip_prefix("refs/heads/"), r.id) {
                let local = RefName::branch(branch).map_err(StoreError::from)?;
                let current = self
                    .backend()
                    .resolve_ref(&local)
                    .map_err(StoreError::from)?;
                if current.is_none() {
                    self.set_ref(&local, None, id)?;
                }
            }
        }
        if let Some(target) = head.and_then(|t| RefName::new(&t).ok()) {
            self.backend()
                .set_symbolic_ref(&RefName::head(), &target)
                .map_err(StoreError::from)?;
        }
        Ok(outcome)
    }
}
