#![doc = include_str!("../README.md")]
//!
//! ## Layers
//!
//! - [`object`]: git objects and their ids (gix-object).
//! - [`refs`]: reference names and values.
//! - [`backend`]: where objects and references live: [`MemBackend`], and
//!   with feature `fs` (default) [`FsBackend`], a real `.git` directory.
//! - [`Repo`] and [`Store`]: branches as trees of values, commits,
//!   [history](Store::history), [merges](Store::merge_from),
//!   [watches](Store::watch); [`kv`] implements mirage-core's `KvRo`/`KvRw`.
//!
//! ## Features
//!
//! - `fs` (default): the on-disk backend, needs `std::fs`.
//! - `sha256`: repositories with `objectFormat = sha256`.
//! - `sync` (default): [`sync`], clone/fetch/pull/push with Git remotes over any `Stack`.

pub mod backend;
pub mod commit;
pub mod error;
pub mod kv;
pub mod merge;
pub mod object;
pub mod refs;
mod repo;
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;

pub use backend::Backend;
#[cfg(feature = "fs")]
pub use backend::fs::{FsBackend, FsOptions, GcOutcome};
pub use backend::mem::MemBackend;
pub use commit::{Author, CommitInfo, Info};
pub use error::{BackendError, CasError, RefError, StoreError};
pub use gix_hash::{Kind as HashKind, ObjectId};
pub use merge::{Conflict, ConflictReason, MergeOutcome, Merges, Versions};
pub use object::{ObjectKind, RawObject};
pub use refs::{RefName, RefValue};
pub use repo::Repo;
pub use store::diff::Change;
pub use store::{Op, Store, Transaction, TreeEntry};
