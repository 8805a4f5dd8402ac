//! Git objects: encoding, decoding and ids, all through gix-object.
//!
//! An object is stored as its kind plus its canonical bytes (the bytes after
//! the loose header `<kind> <size>\0`); its id is the hash of header and bytes,
//! exactly as `git hash-object` computes it.

use bytes::Bytes;
use gix_hash::ObjectId;
pub use gix_object::Kind as ObjectKind;
use gix_object::WriteTo;

use crate::error::BackendError;

/// An object as a backend stores it: its kind and canonical bytes.
///
/// The bytes are shared ([`Bytes`]), so caches and readers of a value need no copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    /// Blob, tree, commit or tag.
    pub kind: ObjectKind,
    /// The canonical encoding (without the loose header).
    pub data: Bytes,
}

/// The id git gives an object of `kind` with canonical bytes `data`.
pub fn object_id(
    hash: gix_hash::Kind,
    kind: ObjectKind,
    data: &[u8],
) -> Result<ObjectId, BackendError> {
    gix_object::compute_hash(hash, kind, data).map_err(BackendError::Hash)
}

/// The canonical bytes of any owned gix object (tree entries must be valid names).
pub fn encode(object: &impl WriteTo) -> Result<Vec<u8>, BackendError> {
    let mut out = Vec::with_capacity(usize::try_from(object.size()).unwrap_or(0));
    object.write_to(&mut out).map_err(BackendError::Encode)?;
    Ok(out)
}

/// The loose-object form: header `<kind> <size>\0` followed by `data`.
pub fn loose_bytes(kind: ObjectKind, data: &[u8]) -> Vec<u8> {
    let header = gix_object::encode::loose_header(kind, data.len() as u64);
    let mut out = Vec::with_capacity(header.len() + data.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out
}

impl RawObject {
    /// Checks the kind and decodes a tree.
    pub fn into_tree(
        self,
        id: &ObjectId,
        hash: gix_hash::Kind,
    ) -> Result<gix_object::Tree, BackendError> {
        self.expect(id, ObjectKind::Tree)?;
        gix_object::TreeRef::from_bytes(&self.data, hash)
            .map(|t| t.into_owned())
            .map_err(|source| BackendError::CorruptObject { id: *id, source })
    }

    /// Checks the kind and decodes a commit.
    pub fn into_commit(
        self,
        id: &ObjectId,
        hash: gix_hash::Kind,
    ) -> Result<gix_object::Commit, BackendError> {
        self.expect(id, ObjectKind::Commit)?;
        gix_object::CommitRef::from_bytes(&self.data, hash)
            .and_then(|c| c.into_owned())
            .map_err(|source| BackendError::CorruptObject { id: *id, source })
    }

    /// Checks the kind and decodes an annotated tag.
    pub fn into_tag(
        self,
        id: &ObjectId,
        hash: gix_hash::Kind,
    ) -> Result<gix_object::Tag, BackendError> {
        self.expect(id, ObjectKind::Tag)?;
        gix_object::TagRef::from_bytes(&self.data, hash)
            .and_then(|t| t.into_owned())
            .map_err(|source| BackendError::CorruptObject { id: *id, source })
    }

    /// Checks the kind is a blob and returns its bytes.
    pub fn into_blob(self, id: &ObjectId) -> Result<Bytes, BackendError> {
        self.expect(id, ObjectKind::Blob)?;
        Ok(self.data)
    }

    /// Checks the kind and reads only a commit's tree id (no full decode).
    pub fn commit_tree(
        &self,
        id: &ObjectId,
        hash: gix_hash::Kind,
    ) -> Result<ObjectId, BackendError> {
        self.expect(id, ObjectKind::Commit)?;
        gix_object::CommitRefIter::from_bytes(&self.data, hash)
            .tree_id()
            .map_err(|source| BackendError::CorruptObject { id: *id, source })
    }

    /// Checks the kind and finds the entry `name` of a tree without decoding the others.
    pub fn tree_entry(
        &self,
        id: &ObjectId,
        hash: gix_hash::Kind,
        name: &[u8],
    ) -> Result<Option<(gix_object::tree::EntryMode, ObjectId)>, BackendError> {
        self.expect(id, ObjectKind::Tree)?;
        for entry in gix_object::TreeRefIter::from_bytes(&self.data, hash) {
            let entry = entry.map_err(|source| BackendError::CorruptObject { id: *id, source })?;
            if entry.filename == name {
                return Ok(Some((entry.mode, entry.oid.to_owned())));
            }
        }
        Ok(None)
    }

    fn expect(&self, id: &ObjectId, expected: ObjectKind) -> Result<(), BackendError> {
        if self.kind == expected {
            Ok(())
        } else {
            Err(BackendError::WrongKind {
                id: *id,
                expected,
                actual: self.kind,
            })
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ids_match_git_hash_object() {
        // `printf hello | git hash-object --stdin`
        let id = object_id(gix_hash::Kind::Sha1, ObjectKind::Blob, b"hello").unwrap();
        assert_eq!(id.to_string(), "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");
        // The empty tree.
        let empty = encode(&gix_object::Tree::empty()).unwrap();
        let id = object_id(gix_hash::Kind::Sha1, ObjectKind::Tree, &empty).unwrap();
        assert_eq!(id.to_string(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    }

    #[test]
    fn loose_header_prefixes_data() {
        assert_eq!(loose_bytes(ObjectKind::Blob, b"hi"), b"blob 2\0hi");
    }

    quickcheck::quickcheck! {
        fn decoding_arbitrary_bytes_never_panics(data: Vec<u8>) -> bool {
            let id = ObjectId::null(gix_hash::Kind::Sha1);
            for kind in [ObjectKind::Tree, ObjectKind::Commit, ObjectKind::Tag] {
                let raw = RawObject { kind, data: data.clone().into() };
                let _ = match kind {
                    ObjectKind::Tree => raw.into_tree(&id, gix_hash::Kind::Sha1).map(|_| ()),
                    ObjectKind::Commit => raw.into_commit(&id, gix_hash::Kind::Sha1).map(|_| ()),
                    _ => raw.into_tag(&id, gix_hash::Kind::Sha1).map(|_| ()),
                };
            }
            true
        }
    }
}
