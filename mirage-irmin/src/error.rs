//! Error types, one per layer: [`BackendError`] for object and reference
//! storage, [`RefError`] for reference names, [`StoreError`] for the store API.

use std::path::PathBuf;

use gix_hash::ObjectId;

use crate::object::ObjectKind;

/// Returned when a string is not a valid Git reference name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// The name is empty.
    #[error("a reference name cannot be empty")]
    Empty,
    /// The name is neither `HEAD` nor below `refs/`.
    #[error("reference {0:?} is neither HEAD nor below refs/")]
    NotUnderRefs(String),
    /// A path component is empty, starts with `.` or ends with `.lock`.
    #[error("reference {0:?} has an empty component, one starting with '.' or ending with '.lock'")]
    BadComponent(String),
    /// The name contains `..`, `@{`, a control character, a space or one of `~^:?*[\`.
    #[error("reference {0:?} contains a character sequence git forbids")]
    ForbiddenCharacter(String),
    /// The name ends with `/` or `.`.
    #[error("reference {0:?} ends with '/' or '.'")]
    BadEnding(String),
}

/// Returned by a [`crate::Backend`] when storing or loading objects and references fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// A file system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"read"`, `"write"`, `"rename"`, ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored object could not be decoded or its stored bytes are damaged.
    #[error("object {id} is corrupt: {source}")]
    CorruptObject {
        /// The object's id.
        id: ObjectId,
        /// What gix found wrong with it.
        #[source]
        source: gix_error::Error,
    },
    /// A loose object's zlib stream or header is damaged.
    #[error("loose object {path} is damaged: {reason}")]
    CorruptLoose {
        /// The object file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: &'static str,
    },
    /// An object declares a size above the configured limit.
    #[error("object {id} declares {size} bytes, more than the limit of {limit}")]
    ObjectTooLarge {
        /// The object's id.
        id: ObjectId,
        /// The declared size.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A pack or its index could not be opened, read or written.
    #[error("pack {path}: {source}")]
    Pack {
        /// The `.idx` or `.pack` file concerned.
        path: PathBuf,
        /// What gix-pack reported.
        #[source]
        source: gix_error::Error,
    },
    /// An object was expected but is not in the store.
    #[error("object {0} is missing")]
    MissingObject(ObjectId),
    /// An object has another kind than the one needed.
    #[error("object {id} is a {actual}, expected a {expected}")]
    WrongKind {
        /// The object's id.
        id: ObjectId,
        /// The kind needed.
        expected: ObjectKind,
        /// The kind found.
        actual: ObjectKind,
    },
    /// A reference file holds something that is neither an object id nor `ref: <name>`.
    #[error("reference {name} holds an unreadable value")]
    CorruptRef {
        /// The reference.
        name: String,
    },
    /// A line of `packed-refs` cannot be parsed.
    #[error("packed-refs line {line} cannot be parsed")]
    CorruptPackedRefs {
        /// The 1-based line number.
        line: usize,
    },
    /// The lock file of a reference stayed held by another writer past the timeout.
    #[error("reference {name} is locked by another writer ({path} exists)")]
    RefLocked {
        /// The reference.
        name: String,
        /// The lock file.
        path: PathBuf,
    },
    /// A symbolic reference chain is longer than git allows (5 levels) or loops.
    #[error("symbolic reference {0} nests too deeply")]
    SymrefTooDeep(String),
    /// The object id uses another hash than the repository.
    #[error("object id {id} is not a {expected:?} id")]
    HashMismatch {
        /// The id given.
        id: ObjectId,
        /// The repository's hash kind.
        expected: gix_hash::Kind,
    },
    /// The repository asks for a hash this build does not support.
    #[error("the repository uses object format {0:?}, which this build does not support")]
    UnsupportedObjectFormat(String),
    /// Hashing an object failed (SHA-1 collision attack detected).
    #[error("hashing an object failed: {0}")]
    Hash(#[source] gix_error::Error),
    /// An object could not be serialized (a tree entry name git refuses, for instance).
    #[error("object cannot be encoded: {0}")]
    Encode(#[source] std::io::Error),
    /// The path is not a git repository.
    #[error("{0} is not a git repository (no HEAD or objects/)")]
    NotARepository(PathBuf),
    /// A name that should be a valid reference is not.
    #[error(transparent)]
    Ref(#[from] RefError),
}

/// Why a compare-and-swap update of a reference did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CasError {
    /// The reference did not hold the expected value; nothing was written.
    #[error("reference {name} moved: expected {expected:?}, found {actual:?}")]
    Mismatch {
        /// The reference.
        name: String,
        /// What the caller expected.
        expected: Option<ObjectId>,
        /// What the reference holds.
        actual: Option<ObjectId>,
    },
    /// The storage failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Returned by the [`crate::Store`] and [`crate::Repo`] operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Storage failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Nothing is stored at the path.
    #[error("{0}: no such path")]
    NotFound(mirage_core::Key),
    /// The path names a directory where a value was needed.
    #[error("{0}: is a directory, not a value")]
    ValueExpected(mirage_core::Key),
    /// The path or one of its prefixes names a value where a directory was needed.
    #[error("{0}: is a value, not a directory")]
    DictionaryExpected(mirage_core::Key),
    /// A path segment git would refuse in a tree (`.git` in any case).
    #[error("{0}: '.git' cannot be stored in a git tree")]
    ForbiddenPath(mirage_core::Key),
    /// Author name or e-mail contain `<`, `>` or a newline, which git cannot store.
    #[error("author name or e-mail contains '<', '>' or a line break")]
    InvalidAuthor,
    /// The branch name is not a valid git reference name.
    #[error(transparent)]
    Ref(#[from] RefError),
    /// Other writers kept moving the branch: the update was retried
    /// `attempts` times and lost the race each time. Nothing was changed.
    #[error("branch {branch} kept moving; gave up after {attempts} attempts")]
    Contended {
        /// The branch.
        branch: String,
        /// How often it was tried.
        attempts: u32,
    },
    /// The destination of a rename lies inside its source.
    #[error("cannot move {from} into itself ({dest})")]
    RenameIntoItself {
        /// The path being moved.
        from: mirage_core::Key,
        /// The destination inside it.
        dest: mirage_core::Key,
    },
    /// A reference did not hold the value the operation expected (a tag
    /// that exists already, a branch deleted at an old commit).
    #[error("reference {name} is at {actual:?}, not at the expected {expected:?}")]
    RefMoved {
        /// The reference.
        name: String,
        /// What it was expected to hold.
        expected: Option<ObjectId>,
        /// What it holds.
        actual: Option<ObjectId>,
    },
    /// The branch does not exist (for operations that need a commit).
    #[error("branch {0} does not exist")]
    NoSuchBranch(String),
    /// The merge found conflicts; nothing was committed.
    #[error("merge has {} conflict(s), first at {}", .0.len(), .0.first().map(|c| c.path.to_string()).unwrap_or_default())]
    Conflicts(Vec<crate::merge::Conflict>),
    /// The two commits have several best common ancestors whose own merge conflicts.
    #[error("the merge bases of {a} and {b} conflict with each other")]
    AmbiguousMergeBase {
        /// One side.
        a: ObjectId,
        /// The other side.
        b: ObjectId,
    },
    /// A tree names an entry whose name is not a valid key segment.
    #[error("tree {tree} holds entry {name:?}, which is not a valid key segment")]
    BadEntryName {
        /// The tree.
        tree: ObjectId,
        /// The entry's name (lossy UTF-8).
        name: String,
    },
}

impl From<CasError> for StoreError {
    fn from(e: CasError) -> Self {
        match e {
            CasError::Backend(b) => StoreError::Backend(b),
            CasError::Mismatch {
                name,
                expected,
                actual,
            } => StoreError::RefMoved {
                name,
                expected,
                actual,
            },
        }
    }
}
