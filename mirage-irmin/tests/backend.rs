//! The `Backend` contract, run against both implementations: objects by id,
//! compare-and-swap references, symbolic references and listings.

mod common;

use mirage_irmin::{Backend, CasError, HashKind, MemBackend, ObjectKind, RefName, RefValue};

fn contract<B: Backend>(b: &B) {
    // Objects: ids as git computes them, idempotent writes.
    let id = b.write_object(ObjectKind::Blob, b"hello").unwrap();
    assert_eq!(id.to_string(), "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");
    assert_eq!(b.write_object(ObjectKind::Blob, b"hello").unwrap(), id);
    assert!(b.contains_object(&id).unwrap());
    let raw = b.read_object(&id).unwrap().unwrap();
    assert_eq!((raw.kind, &raw.data[..]), (ObjectKind::Blob, &b"hello"[..]));
    let missing =
        mirage_irmin::ObjectId::from_hex(b"0000000000000000000000000000000000000001").unwrap();
    assert_eq!(b.read_object(&missing).unwrap(), None);
    assert!(!b.contains_object(&missing).unwrap());

    // References: create, move, refuse stale updates, delete.
    let main = RefName::branch("main").unwrap();
    let other = b.write_object(ObjectKind::Blob, b"other").unwrap();
    assert_eq!(b.resolve_ref(&main).unwrap(), None);
    b.update_ref(&main, None, Some(id)).unwrap();
    assert!(matches!(
        b.update_ref(&main, None, Some(other)),
        Err(CasError::Mismatch { actual: Some(a), .. }) if a == id
    ));
    b.update_ref(&main, Some(id), Some(other)).unwrap();
    assert!(matches!(
        b.update_ref(&main, Some(id), None),
        Err(CasError::Mismatch { .. })
    ));
    assert_eq!(b.read_ref(&main).unwrap(), Some(RefValue::Object(other)));

    // HEAD is symbolic and resolves through the branch.
    assert_eq!(
        b.read_ref(&RefName::head()).unwrap(),
        Some(RefValue::Symbolic(main.clone()))
    );
    assert_eq!(b.resolve_ref(&RefName::head()).unwrap(), Some(other));
    let dev = RefName::branch("dev").unwrap();
    b.set_symbolic_ref(&RefName::head(), &dev).unwrap();
    assert_eq!(b.resolve_ref(&RefName::head()).unwrap(), None);
    b.set_symbolic_ref(&RefName::head(), &main).unwrap();

    // Listings are sorted and filtered by prefix.
    let tag = RefName::tag("v1").unwrap();
    b.update_ref(&tag, None, Some(id)).unwrap();
    b.update_ref(&RefName::branch("a/b").unwrap(), None, Some(id))
        .unwrap();
    let heads: Vec<String> = b
        .list_refs("refs/heads/")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(heads, ["refs/heads/a/b", "refs/heads/main"]);
    assert_eq!(b.list_refs("refs/tags/").unwrap(), vec![(tag.clone(), id)]);
    assert_eq!(b.list_refs("refs/").unwrap().len(), 3);

    b.update_ref(&main, Some(other), None).unwrap();
    assert_eq!(b.read_ref(&main).unwrap(), None);
    assert_eq!(b.list_refs("refs/heads/").unwrap().len(), 1);
}

#[test]
fn memory_backend_keeps_the_contract() {
    contract(&MemBackend::new(HashKind::Sha1));
}

#[cfg(feature = "fs")]
#[test]
fn disk_backend_keeps_the_contract() {
    let tmp = common::TempDir::new("contract");
    let b =
        mirage_irmin::FsBackend::init(tmp.path().join("r.git"), HashKind::Sha1, Default::default())
            .unwrap();
    contract(&b);
    // After packing references the contract still holds for them.
    b.pack_refs().unwrap();
    let tag = RefName::tag("v1").unwrap();
    let id = b.resolve_ref(&tag).unwrap().unwrap();
    assert!(matches!(
        b.update_ref(&tag, None, Some(id)),
        Err(CasError::Mismatch { .. })
    ));
    b.update_ref(&tag, Some(id), None).unwrap();
    assert_eq!(b.resolve_ref(&tag).unwrap(), None);
    assert_eq!(b.list_refs("refs/").unwrap().len(), 1);
}

/// A pack entry that claims a 3.6 GB object (found by the `git_pack` fuzz
/// target) is refused with an error instead of being allocated.
#[cfg(feature = "fs")]
#[test]
fn a_pack_entry_claiming_a_huge_object_is_an_error_not_an_allocation() {
    use mirage_irmin::backend::fs::pack::PackSet;
    let data = include_bytes!("data/pack-entry-claims-3677272997-bytes");
    let (len, rest) = data.split_first_chunk::<4>().unwrap();
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (idx, pack) = rest.split_at(len);
    let tmp = common::TempDir::new("huge-entry");
    let dir = tmp.path();
    std::fs::write(dir.join("pack-x.idx"), idx).unwrap();
    std::fs::write(dir.join("pack-x.pack"), pack).unwrap();
    let mut set = PackSet::with_alloc_limit(1 << 20);
    set.refresh(dir, HashKind::Sha1)
        .expect("the index itself loads");
    let ids = set.ids();
    assert!(!ids.is_empty());
    let errors = ids.iter().filter(|id| set.read(id).is_err()).count();
    assert!(errors > 0, "the oversized entry is an error");
}
