//! [`DirKv`]: a key-value store in a host directory.
//!
//! Key `/a/b/c` is the file `ROOT/a/b/c`; dictionaries are directories.
//! Values are regular files; other kinds of file (sockets, FIFOs, devices)
//! are invisible. A dictionary exists while a value lives under it: every
//! write removes the directories it empties. (An empty directory made
//! outside the store still shows as an empty dictionary, and a value
//! stored at its key replaces it.)
//!
//! # What survives a crash
//!
//! - [`KvRw::set`](mirage_core::KvRw::set) writes a temporary file, `fsync`s it, renames it over the
//!   key and `fsync`s the directory: after a crash the key holds the old or
//!   the new value, whole. [`KvRw::remove`](mirage_core::KvRw::remove) of a dictionary first renames it
//!   out of the tree, so it disappears at once.
//! - [`KvRw::set_partial`](mirage_core::KvRw::set_partial) writes in place and `fdatasync`s: a crash during
//!   it can leave part of the new bytes.
//! - [`KvRw::batch`](mirage_core::KvRw::batch) validates every change against the store first (an
//!   invalid batch changes nothing), stages the new values as `fsync`ed
//!   files, then writes and `fsync`s a journal of the changes: that is the
//!   commit point. The changes are then applied in order (rename per value,
//!   recursive removal per `Remove`), recording progress in the journal.
//!   A batch interrupted after its commit point is completed the next time
//!   the store is opened read-write; one interrupted before is discarded.
//!   So after a crash and a re-open, either all or none of a batch is
//!   visible. If applying fails midway on a host error (a full disk), the
//!   error is returned with part of the batch applied and the journal kept:
//!   the next read-write open completes it. While a batch is being applied, tasks of the same instance see
//!   all or nothing (the application runs without yielding), but another
//!   process reading the directory at that moment can see some of it.
//!
//! The bookkeeping lives in the reserved top-level directory `.dirkv`
//! (never listed; keys under it are refused). The store must lie on one
//! filesystem, since renames do not cross mount points.
//!
//! # Digests and symlinks
//!
//! A value's digest is the SHA-256 of its bytes. A dictionary's is the
//! SHA-256 over its sorted entries, each as a kind byte, the name's length
//! and bytes, and the entry's own digest. Symbolic links are followed only
//! while they stay inside the root; a key reaching outside it fails with
//! [`DirKvError::OutsideRoot`]. Reads open a key with one
//! `openat2(RESOLVE_BENEATH)` relative to the root, so the kernel itself
//! refuses a walk out of it; absolute links, and hosts without `openat2`,
//! are checked component by component instead.
//!
//! # Regions
//!
//! [`KvRo::region`](mirage_core::KvRo::region) lends a value as its open
//! file ([`FileRegion`], opened as reads open it), which the host socket
//! stack sends with `sendfile(2)` and any other flow reads in chunks. The
//! region is the file that was at the key when it was lent: a value
//! replaced by [`KvRw::set`](mirage_core::KvRw::set) meanwhile (a rename)
//! is still sent whole as it was; one cut shorter in place ends the send
//! early with an error.
//!
//! The file operations are synchronous on the instance's thread: quick on a
//! local disk with the page cache, and they stall only this instance.

mod batch;
mod digest;
mod open;
mod read;
mod region;
mod write;

use std::cell::Cell;
use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mirage_core::{EntryKind, Key, KvError};

pub use region::FileRegion;

/// The reserved top-level directory holding temporary files and journals.
pub const RESERVED: &str = ".dirkv";

/// Storage failures specific to [`DirKv`], carried in [`KvError::Storage`].
#[derive(Debug, thiserror::Error)]
pub enum DirKvError {
    /// The root could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The root given.
        path: PathBuf,
        /// What the host said.
        #[source]
        source: io::Error,
    },
    /// The root is not a directory.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// A symbolic link on the key's path leads outside the root.
    #[error("{0}: a symbolic link leads outside the store's directory")]
    OutsideRoot(Key),
    /// The key lies in the store's reserved `.dirkv` directory.
    #[error("{0}: keys under /.dirkv are reserved for the store's own use")]
    Reserved(Key),
    /// A host file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the host said.
        #[source]
        source: io::Error,
    },
    /// Completing a batch that a crash interrupted failed.
    #[error("completing an interrupted batch failed: {0}")]
    Recover(#[source] Box<KvError>),
    /// A batch journal left by a crash cannot be read.
    #[error("{0}: the batch journal is corrupt")]
    CorruptJournal(PathBuf),
}

/// A [`mirage_core::KvRo`] and [`mirage_core::KvRw`] on a host directory;
/// see the [module documentation](self) for the layout and guarantees.
///
/// Cloning gives another handle on the same directory.
#[derive(Debug, Clone)]
pub struct DirKv {
    root: PathBuf,
    /// `root`, canonical, for symlink checks.
    canonical: PathBuf,
    /// `root`, opened once: keys are opened relative to it.
    root_dir: Rc<fs::File>,
    /// Whether the host has `openat2` (cleared on the first refusal).
    beneath: Rc<Cell<bool>>,
    read_write: bool,
    counter: Rc<Cell<u64>>,
}

/// Wraps a host error about `path` as a [`KvError`], recognising a full
/// disk and a read-only filesystem.
pub(crate) fn io_err(path: &Path, e: io::Error) -> KvError {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => KvError::NoSpace,
        Some(libc::EROFS) => KvError::ReadOnly,
        _ => KvError::storage(DirKvError::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Whether an error means "no such file here" (including a file where a
/// directory was expected on the way).
pub(crate) fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

impl DirKv {
    /// Opens the directory `root` as a store, read-write or read-only. A
    /// read-write open completes or discards batches a crash interrupted.
    ///
    /// Reads resolve keys relative to the directory opened here, so the
    /// store keeps reading that directory even if `root` is later renamed
    /// or replaced; writes go by path.
    pub fn open(root: impl AsRef<Path>, read_write: bool) -> Result<Self, DirKvError> {
        let root = root.as_ref().to_owned();
        let open_err = |source| DirKvError::Open {
            path: root.clone(),
            source,
        };
        let meta = fs::metadata(&root).map_err(open_err)?;
        if !meta.is_dir() {
            return Err(DirKvError::NotADirectory(root));
        }
        let canonical = fs::canonicalize(&root).map_err(open_err)?;
        let root_dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&root)
            .map_err(open_err)?;
        let kv = DirKv {
            root,
            canonical,
            root_dir: Rc::new(root_dir),
            beneath: Rc::new(Cell::new(true)),
            read_write,
            counter: Default::default(),
        };
        if read_write {
            batch::recover(&kv)?;
        }
        Ok(kv)
    }

    /// The directory this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether writes are allowed.
    pub fn is_read_write(&self) -> bool {
        self.read_write
    }

    fn reserved_dir(&self) -> PathBuf {
        self.root.join(RESERVED)
    }

    /// A fresh name for a temporary file or directory in `.dirkv`.
    fn fresh_name(&self, what: &str) -> String {
        let n = self.counter.get();
        self.counter.set(n + 1);
        let mut r = [0u8; 8];
        // Uniqueness against other processes: the pid and a random tag.
        let tag = getrandom::fill(&mut r)
            .map(|()| u64::from_le_bytes(r))
            .unwrap_or(n);
        format!("{what}-{}-{n}-{tag:016x}", std::process::id())
    }

    /// `.dirkv`, created if missing.
    fn ensure_reserved(&self) -> Result<PathBuf, KvError> {
        let dir = self.reserved_dir();
        match fs::create_dir(&dir) {
            Ok(()) => sync_dir(&self.root)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(&dir, e)),
        }
        Ok(dir)
    }

    /// The host path of `key`, refusing reserved keys.
    fn path(&self, key: &Key) -> Result<PathBuf, KvError> {
        if is_reserved(key) {
            return Err(KvError::storage(DirKvError::Reserved(key.clone())));
        }
        let mut p = self.root.clone();
        for s in key.segments() {
            p.push(s);
        }
        Ok(p)
    }

    /// The host path of `key`, after checking that no symbolic link on the
    /// way leads outside the root. Each existing component below the root
    /// is looked at (`lstat`); only symbolic links are resolved.
    fn checked_path(&self, key: &Key) -> Result<PathBuf, KvError> {
        let path = self.path(key)?;
        let mut prefix = self.root.clone();
        for seg in key.segments() {
            prefix.push(seg);
            match fs::symlink_metadata(&prefix) {
                Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(&prefix) {
                    Ok(real) if real.starts_with(&self.canonical) => {}
                    Ok(_) => {
                        return Err(KvError::storage(DirKvError::OutsideRoot(key.clone())));
                    }
                    // A dangling link: nothing is there.
                    Err(e) if is_missing(&e) => return Ok(path),
                    Err(e) => return Err(io_err(&prefix, e)),
                },
                Ok(_) => {}
                Err(e) if is_missing(&e) => return Ok(path),
                Err(e) => return Err(io_err(&prefix, e)),
            }
        }
        Ok(path)
    }

    /// What is at `key`: a regular file is a value, a directory a dictionary.
    fn kind(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        Ok(self.locate(key)?.1)
    }

    /// The checked host path of `key` and what is there (nothing, for a
    /// key in the reserved directory).
    fn locate(&self, key: &Key) -> Result<(PathBuf, Option<EntryKind>), KvError> {
        if key.is_root() {
            return Ok((self.root.clone(), Some(EntryKind::Dictionary)));
        }
        if is_reserved(key) {
            return Ok((self.root.join(RESERVED), None));
        }
        let path = self.checked_path(key)?;
        let kind = kind_at(&path)?;
        Ok((path, kind))
    }

    fn writable(&self) -> Result<(), KvError> {
        if self.read_write {
            Ok(())
        } else {
            Err(KvError::ReadOnly)
        }
    }
}

/// Whether `key` lies in the reserved `.dirkv` directory.
fn is_reserved(key: &Key) -> bool {
    key.segments().first().map(String::as_str) == Some(RESERVED)
}

/// What is at `path`, following symbolic links.
fn kind_at(path: &Path) -> Result<Option<EntryKind>, KvError> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(EntryKind::Value)),
        Ok(m) if m.is_dir() => Ok(Some(EntryKind::Dictionary)),
        Ok(_) => Ok(None),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

/// `fsync`s a directory, making renames and creations in it durable.
fn sync_dir(dir: &Path) -> Result<(), KvError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}
