//! Commit metadata: who and why ([`Info`]), and commits read back ([`CommitInfo`]).

use gix_hash::ObjectId;
use gix_object::bstr::ByteSlice;
use mirage_core::PosixTime;

use crate::backend::{Backend, require};
use crate::error::{BackendError, StoreError};
use crate::object::{ObjectKind, encode};

/// A person, as git records one: `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The name.
    pub name: String,
    /// The e-mail address.
    pub email: String,
}

impl Author {
    /// An author from name and e-mail.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Author {
        Author {
            name: name.into(),
            email: email.into(),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        let bad = |s: &str| s.contains(['<', '>', '\n', '\0']);
        if bad(&self.name) || bad(&self.email) {
            return Err(StoreError::InvalidAuthor);
        }
        Ok(())
    }
}

impl Default for Author {
    fn default() -> Self {
        Author::new("mirage-irmin", "irmin@localhost")
    }
}

/// What a new commit says about itself; its time comes from the repository's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Author and committer.
    pub author: Author,
    /// The commit message.
    pub message: String,
}

impl Info {
    /// Commit info with `message` by `author`.
    pub fn new(author: Author, message: impl Into<String>) -> Info {
        Info {
            author,
            message: message.into(),
        }
    }
}

/// A commit as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit's id.
    pub id: ObjectId,
    /// Its root tree.
    pub tree: ObjectId,
    /// Its parents, first parent first.
    pub parents: Vec<ObjectId>,
    /// Its author.
    pub author: Author,
    /// When it was authored (UTC seconds; git keeps no sub-second part).
    pub time: PosixTime,
    /// Its committer's time, used to order history.
    pub commit_time: PosixTime,
    /// The message, lossily decoded as UTF-8.
    pub message: String,
}

/// Reads commit `id`.
pub fn read_commit<B: Backend + ?Sized>(
    backend: &B,
    id: &ObjectId,
) -> Result<CommitInfo, BackendError> {
    let c = require(backend, id)?.into_commit(id, backend.object_hash())?;
    Ok(CommitInfo {
        id: *id,
        tree: c.tree,
        parents: c.parents.to_vec(),
        author: Author {
            name: c.author.name.to_str_lossy().into_owned(),
            email: c.author.email.to_str_lossy().into_owned(),
        },
        time: PosixTime::from_secs(c.author.time.seconds),
        commit_time: PosixTime::from_secs(c.committer.time.seconds),
        message: c.message.to_str_lossy().into_owned(),
    })
}

/// Writes a commit of `tree` with `parents`, stamped `time` (UTC).
pub fn write_commit<B: Backend + ?Sized>(
    backend: &B,
    tree: ObjectId,
    parents: &[ObjectId],
    info: &Info,
    time: PosixTime,
) -> Result<ObjectId, StoreError> {
    info.author.check()?;
    let signature = gix_actor_signature(&info.author, time);
    let mut message = info.message.clone();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    let commit = gix_object::Commit {
        tree,
        parents: parents.iter().copied().collect(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    Ok(backend.write_object(ObjectKind::Commit, &encode(&commit)?)?)
}

/// A git signature for `author` at `time`, in UTC.
pub(crate) fn gix_actor_signature(author: &Author, time: PosixTime) -> gix_actor::Signature {
    gix_actor::Signature {
        name: author.name.as_str().into(),
        email: author.email.as_str().into(),
        time: gix_object::date::Time {
            seconds: time.secs,
            offset: 0,
        },
    }
}
