//! Where objects and references live: the [`Backend`] trait and its two
//! implementations, [`mem::MemBackend`] and (feature `fs`) [`fs::FsBackend`].
//!
//! The trait is synchronous on purpose: both implementations finish at once
//! (memory) or with short blocking `std::fs` calls (disk), and the async store
//! API above calls them directly. A backend is shared (`&self` everywhere) and
//! does its own locking.

use gix_hash::{ObjectId, oid};

use crate::error::{BackendError, CasError};
use crate::object::{ObjectKind, RawObject};
use crate::refs::{RefName, RefValue};

pub mod mem;

#[cfg(feature = "fs")]
pub mod fs;

/// Git symbolic references nest at most this deep.
pub const MAX_SYMREF_DEPTH: usize = 5;

/// Storage for git objects and references.
pub trait Backend {
    /// The hash every object id of this store uses (SHA-1 or SHA-256).
    fn object_hash(&self) -> gix_hash::Kind;

    /// The object `id`, or `None` if it is not stored.
    fn read_object(&self, id: &oid) -> Result<Option<RawObject>, BackendError>;

    /// Whether the object `id` is stored.
    fn contains_object(&self, id: &oid) -> Result<bool, BackendError>;

    /// Stores an object given its canonical bytes and returns its id. Storing
    /// an object that exists already is cheap and not an error.
    fn write_object(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, BackendError>;

    /// What the reference `name` holds, without following symbolic references.
    fn read_ref(&self, name: &RefName) -> Result<Option<RefValue>, BackendError>;

    /// Atomically sets the direct reference `name` to `new` (`None` deletes it)
    /// if it currently holds `expected` (`None`: it must not exist). On
    /// [`CasError::Mismatch`] nothing was written.
    fn update_ref(
        &self,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<(), CasError>;

    /// Makes `name` a symbolic reference to `target` (as `HEAD` is).
    fn set_symbolic_ref(&self, name: &RefName, target: &RefName) -> Result<(), BackendError>;

    /// All direct references whose names start with `prefix`, sorted by name.
    fn list_refs(&self, prefix: &str) -> Result<Vec<(RefName, ObjectId)>, BackendError>;

    /// Follows symbolic references from `name` to an object id; `None` if a
    /// reference on the way does not exist (an unborn branch).
    fn resolve_ref(&self, name: &RefName) -> Result<Option<ObjectId>, BackendError> {
        let mut current = name.clone();
        for _ in 0..=MAX_SYMREF_DEPTH {
            match self.read_ref(&current)? {
                None => return Ok(None),
                Some(RefValue::Object(id)) => return Ok(Some(id)),
                Some(RefValue::Symbolic(next)) => current = next,
            }
        }
        Err(BackendError::SymrefTooDeep(name.to_string()))
    }
}

macro_rules! forward_backend {
    ($($ptr:ty),*) => {$(
        impl<T: Backend + ?Sized> Backend for $ptr {
            fn object_hash(&self) -> gix_hash::Kind { (**self).object_hash() }
            fn read_object(&self, id: &oid) -> Result<Option<RawObject>, BackendError> { (**self).read_object(id) }
            fn contains_object(&self, id: &oid) -> Result<bool, BackendError> { (**self).contains_object(id) }
            fn write_object(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, BackendError> {
                (**self).write_object(kind, data)
            }
            fn read_ref(&self, name: &RefName) -> Result<Option<RefValue>, BackendError> { (**self).read_ref(name) }
            fn update_ref(&self, name: &RefName, expected: Option<ObjectId>, new: Option<ObjectId>) -> Result<(), CasError> {
                (**self).update_ref(name, expected, new)
            }
            fn set_symbolic_ref(&self, name: &RefName, target: &RefName) -> Result<(), BackendError> {
                (**self).set_symbolic_ref(name, target)
            }
            fn list_refs(&self, prefix: &str) -> Result<Vec<(RefName, ObjectId)>, BackendError> {
                (**self).list_refs(prefix)
            }
        }
    )*};
}
forward_backend!(&T, std::rc::Rc<T>, std::sync::Arc<T>, Box<T>);

/// Reads an object that must exist.
pub(crate) fn require<B: Backend + ?Sized>(
    backend: &B,
    id: &ObjectId,
) -> Result<RawObject, BackendError> {
    backend
        .read_object(id)?
        .ok_or(BackendError::MissingObject(*id))
}
