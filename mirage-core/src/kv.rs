//! Key-value stores: [`KvRo`] (read-only) and [`KvRw`] (read-write).
//!
//! Modelled on MirageOS's `Mirage_kv.RO`/`RW`: values live at [`Key`]s, and
//! the keys form a tree of dictionaries. A dictionary exists while something
//! lives under it. Implementations: a directory (mirage-unix), a Git branch
//! (mirage-irmin), memory ([`crate::mem::MemKv`]).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use crate::key::Key;
use crate::region::Region;
use crate::time::PosixTime;

/// What a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A value (a file).
    Value,
    /// A dictionary (a directory) holding other keys.
    Dictionary,
}

/// A content hash of a value or dictionary, for ETags and change detection.
///
/// Equal contents give equal digests within one store; the algorithm is the
/// store's own (SHA-256 of the bytes for a directory, the Git object id for
/// mirage-irmin). At most 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    len: u8,
    bytes: [u8; 64],
}

impl Digest {
    /// The largest digest in bytes.
    pub const MAX_LEN: usize = 64;

    /// Wraps a digest of at most [`Digest::MAX_LEN`] bytes; `None` if longer.
    pub fn new(bytes: &[u8]) -> Option<Digest> {
        if bytes.len() > Self::MAX_LEN {
            return None;
        }
        let mut d = Digest {
            len: bytes.len() as u8,
            bytes: [0; 64],
        };
        d.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(d)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Display for Digest {
    /// Lower-case hexadecimal, as used in ETags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// What a store knows about one key, from one call: see [`KvRo::metadata`].
///
/// Built with [`Metadata::new`] (and [`Metadata::with_digest`]) so that
/// fields can be added later without breaking implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// A value or a dictionary.
    pub kind: EntryKind,
    /// The value's size in bytes; 0 for a dictionary.
    pub size: u64,
    /// When the value or dictionary last changed, as [`KvRo::last_modified`].
    pub last_modified: PosixTime,
    /// The content hash, as [`KvRo::digest`], when the store has it at no
    /// extra cost (a Git object id); `None` when computing it means reading
    /// the value (a directory store hashes the file).
    pub digest: Option<Digest>,
}

impl Metadata {
    /// Metadata without a digest.
    pub fn new(kind: EntryKind, size: u64, last_modified: PosixTime) -> Self {
        Metadata {
            kind,
            size,
            last_modified,
            digest: None,
        }
    }

    /// The same, with the content hash known.
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }
}

/// Why a key-value operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// Nothing is stored at the key.
    #[error("{0}: no such key")]
    NotFound(Key),
    /// The key names a dictionary where a value was needed (e.g. `get` on a directory).
    #[error("{0}: is a dictionary, not a value")]
    ValueExpected(Key),
    /// The key names a value where a dictionary was needed (e.g. `list` on a file,
    /// or a `set` below a value).
    #[error("{0}: is a value, not a dictionary")]
    DictionaryExpected(Key),
    /// The destination of a rename lies inside its source.
    #[error("cannot rename {from} into itself ({dest})")]
    RenameIntoItself {
        /// The key being renamed.
        from: Key,
        /// The destination inside it.
        dest: Key,
    },
    /// The operation would write, but the store is read-only.
    #[error("the store is read-only")]
    ReadOnly,
    /// The store has no room for the data.
    #[error("the store is full")]
    NoSpace,
    /// A write lost a race with another writer (compare-and-swap failed);
    /// the store is unchanged and the operation can be retried.
    #[error("another writer changed the store concurrently; retry the operation")]
    Conflict,
    /// The underlying storage failed (I/O error, corrupt data, device gone).
    #[error("storage failure: {0}")]
    Storage(#[source] Box<dyn core::error::Error + Send + Sync + 'static>),
}

impl KvError {
    /// Wraps a backend's own error as [`KvError::Storage`].
    pub fn storage(e: impl core::error::Error + Send + Sync + 'static) -> KvError {
        KvError::Storage(Box::new(e))
    }
}

/// One change in a [`KvRw::batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Store `value` at the key, replacing any value there.
    Set(Key, Bytes),
    /// Remove the key (a value, or a dictionary with everything in it).
    /// Removing a missing key is not an error.
    Remove(Key),
}

/// A read-only key-value store.
///
/// All methods take `&self`: a store is shared by the tasks of one
/// unikernel; implementations use interior mutability where they cache.
#[allow(async_fn_in_trait)]
pub trait KvRo {
    /// What `key` names, or `None` if nothing is stored there. The root
    /// always exists as a dictionary.
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError>;

    /// The whole value at `key`.
    async fn get(&self, key: &Key) -> Result<Bytes, KvError>;

    /// At most `length` bytes of the value at `key`, from `offset`. Reading at
    /// or past the end gives an empty value, not an error, so callers can
    /// stream a value in chunks without knowing its size.
    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError>;

    /// Lends the bytes of the value at `key` from `offset`, at most
    /// `length` of them (cut at the value's end, as in
    /// [`KvRo::get_partial`]), as a [`Region`] that a
    /// [`TcpFlow`](crate::TcpFlow) sends with
    /// [`send_region`](crate::TcpFlow::send_region) without the caller
    /// reading them: a directory store lends the open file, which the host
    /// stack can `sendfile`. The region reads the value as it was when
    /// lent, or fails as truncated if it shrinks meanwhile.
    ///
    /// `Ok(None)` means the store lends no regions: read the value with
    /// [`KvRo::get_partial`] instead. That is the default, so a store that
    /// does not override this keeps being read the usual way; errors are
    /// those of `get_partial`.
    async fn region(&self, key: &Key, offset: u64, length: u64) -> Result<Option<Region>, KvError> {
        let _ = (key, offset, length);
        Ok(None)
    }

    /// The entries directly inside the dictionary `key`, sorted by name.
    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError>;

    /// When the value or dictionary at `key` last changed.
    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError>;

    /// A content hash of the value or dictionary at `key`.
    async fn digest(&self, key: &Key) -> Result<Digest, KvError>;

    /// The size of the value at `key` in bytes.
    async fn size(&self, key: &Key) -> Result<u64, KvError>;

    /// The kind, size and modification time of `key` (and its digest when
    /// cheap) in one call; [`KvError::NotFound`] if nothing is there. A
    /// server asks this once per request instead of three questions.
    ///
    /// The default asks [`KvRo::exists`], [`KvRo::size`] and
    /// [`KvRo::last_modified`]; stores that can answer from one lookup
    /// (one `stat`) override it.
    async fn metadata(&self, key: &Key) -> Result<Metadata, KvError> {
        let kind = match self.exists(key).await? {
            Some(kind) => kind,
            None => return Err(KvError::NotFound(key.clone())),
        };
        let size = match kind {
            EntryKind::Value => self.size(key).await?,
            EntryKind::Dictionary => 0,
        };
        let last_modified = self.last_modified(key).await?;
        Ok(Metadata::new(kind, size, last_modified))
    }
}

/// A key-value store that can be written.
#[allow(async_fn_in_trait)]
pub trait KvRw: KvRo {
    /// Stores `value` at `key`, creating dictionaries on the way and replacing
    /// any value there. Fails with [`KvError::ValueExpected`] if `key` is a
    /// dictionary, or [`KvError::DictionaryExpected`] if a prefix is a value.
    async fn set(&self, key: &Key, value: Bytes) -> Result<(), KvError>;

    /// Writes `data` into the value at `key` from `offset`, extending it with
    /// zero bytes if `offset` is past its end; creates the value if missing.
    /// Unlike [`KvRw::set`], a crash during the call may leave the value
    /// partly written, unless the implementation documents otherwise.
    async fn set_partial(&self, key: &Key, offset: u64, data: &[u8]) -> Result<(), KvError>;

    /// Removes the value or dictionary (recursively) at `key`. Removing a
    /// missing key is not an error; removing the root empties the store.
    async fn remove(&self, key: &Key) -> Result<(), KvError>;

    /// Moves the value or dictionary at `source` to `dest`, replacing a value
    /// at `dest`. Fails with [`KvError::NotFound`] if `source` is missing and
    /// [`KvError::RenameIntoItself`] if `dest` lies inside `source`.
    async fn rename(&self, source: &Key, dest: &Key) -> Result<(), KvError>;

    /// Applies all `changes` in order, atomically: readers see either none or
    /// all of them, and on error none is applied. Each implementation
    /// documents what "atomic" survives (a crash, a power cut).
    async fn batch(&self, changes: Vec<Change>) -> Result<(), KvError>;
}

macro_rules! forward_kv {
    ($($ptr:ty),*) => {$(
        impl<T: KvRo + ?Sized> KvRo for $ptr {
            async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> { (**self).exists(key).await }
            async fn get(&self, key: &Key) -> Result<Bytes, KvError> { (**self).get(key).await }
            async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
                (**self).get_partial(key, offset, length).await
            }
            async fn region(&self, key: &Key, offset: u64, length: u64) -> Result<Option<Region>, KvError> {
                (**self).region(key, offset, length).await
            }
            async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> { (**self).list(key).await }
            async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> { (**self).last_modified(key).await }
            async fn digest(&self, key: &Key) -> Result<Digest, KvError> { (**self).digest(key).await }
            async fn size(&self, key: &Key) -> Result<u64, KvError> { (**self).size(key).await }
            async fn metadata(&self, key: &Key) -> Result<Metadata, KvError> { (**self).metadata(key).await }
        }
        impl<T: KvRw + ?Sized> KvRw for $ptr {
            async fn set(&self, key: &Key, value: Bytes) -> Result<(), KvError> { (**self).set(key, value).await }
            async fn set_partial(&self, key: &Key, offset: u64, data: &[u8]) -> Result<(), KvError> {
                (**self).set_partial(key, offset, data).await
            }
            async fn remove(&self, key: &Key) -> Result<(), KvError> { (**self).remove(key).await }
            async fn rename(&self, source: &Key, dest: &Key) -> Result<(), KvError> { (**self).rename(source, dest).await }
            async fn batch(&self, changes: Vec<Change>) -> Result<(), KvError> { (**self).batch(changes).await }
        }
    )*};
}
forward_kv!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);
