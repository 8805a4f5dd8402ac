//! [`ObjectStore`]: what the client needs from a Git object database, and
//! [`MemStore`], a small in-memory implementation.
//!
//! The trait is synchronous, like the backends of a store built on it
//! (memory, or short blocking file-system calls), and has three methods so
//! that any object database can implement it in a few lines.

use std::cell::RefCell;
use std::collections::HashMap;

use gix_hash::{ObjectId, oid};
pub use gix_object::Kind as ObjectKind;

/// A Git object database: objects by id, written by kind and canonical
/// bytes (the bytes after the loose header `<kind> <size>\0`).
///
/// A store with its own object database implements it by forwarding
/// (mirage-irmin's `Backend` has `contains_object`, `read_object` and
/// `write_object` with the same meaning):
///
/// ```
/// use std::cell::RefCell;
/// use std::collections::BTreeMap;
/// use mirage_git::store::{object_id, HashCollision, ObjectKind, ObjectStore};
/// use mirage_git::{oid, ObjectId};
///
/// #[derive(Default)]
/// struct Db(RefCell<BTreeMap<ObjectId, (ObjectKind, Vec<u8>)>>);
///
/// impl ObjectStore for Db {
///     type Error = HashCollision;
///     fn contains(&self, id: &oid) -> Result<bool, HashCollision> {
///         Ok(self.0.borrow().contains_key(id))
///     }
///     fn read(&self, id: &oid) -> Result<Option<(ObjectKind, Vec<u8>)>, HashCollision> {
///         Ok(self.0.borrow().get(id).cloned())
///     }
///     fn write(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, HashCollision> {
///         let id = object_id(kind, data).ok_or(HashCollision)?;
///         self.0.borrow_mut().insert(id, (kind, data.to_vec()));
///         Ok(id)
///     }
/// }
///
/// let db = Db::default();
/// let id = db.write(ObjectKind::Blob, b"hello\n").unwrap();
/// assert_eq!(id.to_string(), "ce013625030ba8dba906f756967f9e9ca394464a");
/// assert!(db.contains(&id).unwrap());
/// ```
pub trait ObjectStore {
    /// Why an operation of the store failed.
    type Error: core::error::Error + Send + Sync + 'static;

    /// Whether the object `id` is stored.
    fn contains(&self, id: &oid) -> Result<bool, Self::Error>;

    /// The kind and canonical bytes of the object `id`, or `None`.
    fn read(&self, id: &oid) -> Result<Option<(ObjectKind, Vec<u8>)>, Self::Error>;

    /// Stores an object and returns its id (as `git hash-object` computes
    /// it). Storing an object that exists is cheap and not an error.
    fn write(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, Self::Error>;
}

impl<T: ObjectStore + ?Sized> ObjectStore for &T {
    type Error = T::Error;
    fn contains(&self, id: &oid) -> Result<bool, Self::Error> {
        (**self).contains(id)
    }
    fn read(&self, id: &oid) -> Result<Option<(ObjectKind, Vec<u8>)>, Self::Error> {
        (**self).read(id)
    }
    fn write(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, Self::Error> {
        (**self).write(kind, data)
    }
}

/// Objects in a hash map, for tests and small appliances.
#[derive(Debug, Default)]
pub struct MemStore {
    objects: RefCell<HashMap<ObjectId, (ObjectKind, Vec<u8>)>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.objects.borrow().len()
    }

    /// Whether no object is stored.
    pub fn is_empty(&self) -> bool {
        self.objects.borrow().is_empty()
    }

    /// The ids of all stored objects.
    pub fn ids(&self) -> Vec<ObjectId> {
        self.objects.borrow().keys().copied().collect()
    }
}

/// The SHA-1 id of an object, as `git hash-object` computes it.
pub fn object_id(kind: ObjectKind, data: &[u8]) -> Option<ObjectId> {
    gix_object::compute_hash(gix_hash::Kind::Sha1, kind, data).ok()
}

/// Why [`MemStore::write`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the object's SHA-1 could not be computed (collision attack detected)")]
pub struct HashCollision;

impl ObjectStore for MemStore {
    type Error = HashCollision;

    fn contains(&self, id: &oid) -> Result<bool, Self::Error> {
        Ok(self.objects.borrow().contains_key(id))
    }

    fn read(&self, id: &oid) -> Result<Option<(ObjectKind, Vec<u8>)>, Self::Error> {
        Ok(self.objects.borrow().get(id).cloned())
    }

    fn write(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, Self::Error> {
        let id = object_id(kind, data).ok_or(HashCollision)?;
        self.objects
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| (kind, data.to_vec()));
        Ok(id)
    }
}
