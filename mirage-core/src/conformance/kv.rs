use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bytes::Bytes;

use crate::key::Key;
use crate::kv::{Change, EntryKind, KvError, KvRo, KvRw};

fn k(s: &str) -> Key {
    Key::parse(s).expect("valid test key")
}

/// Checks that `kv` holds exactly `expected` (key, value) pairs: every value
/// reads back whole and in part, with a stable digest and its size; every
/// dictionary on the way lists its children; a missing key is `NotFound`.
pub async fn kv_ro<K: KvRo + ?Sized>(kv: &K, expected: &[(Key, Bytes)]) {
    for (key, value) in expected {
        assert_eq!(
            kv.exists(key).await.expect("exists"),
            Some(EntryKind::Value),
            "{key} should be a value"
        );
        assert_eq!(&kv.get(key).await.expect("get"), value, "get {key}");
        assert_eq!(
            kv.size(key).await.expect("size"),
            value.len() as u64,
            "size {key}"
        );
        let mid = value.len() / 2;
        assert_eq!(
            &kv.get_partial(key, mid as u64, 3)
                .await
                .expect("get_partial")[..],
            &value[mid..(mid + 3).min(value.len())],
            "get_partial {key} at {mid}"
        );
        assert!(
            kv.get_partial(key, value.len() as u64 + 10, 5)
                .await
                .expect("get_partial past the end is not an error")
                .is_empty(),
            "get_partial past the end of {key} gives nothing"
        );
        // A store that lends regions lends exactly what get_partial reads.
        if let Some(r) = kv.region(key, mid as u64, 3).await.expect("region") {
            let want = &value[mid..(mid + 3).min(value.len())];
            assert_eq!(
                r.len(),
                want.len() as u64,
                "region length of {key} at {mid}"
            );
            let mut buf = [0u8; 8];
            let n = r.read_at(0, &mut buf).expect("read the region");
            assert_eq!(&buf[..n], want, "region bytes of {key} at {mid}");
            let whole = kv
                .region(key, 0, u64::MAX)
                .await
                .expect("region")
                .expect("a store lending one region lends another");
            assert_eq!(whole.len(), value.len() as u64, "whole region of {key}");
            let past = kv
                .region(key, value.len() as u64 + 10, 5)
                .await
                .expect("a region past the end is not an error");
            assert!(
                past.is_none_or(|r| r.is_empty()),
                "a region past the end of {key} is empty"
            );
        }
        let d1 = kv.digest(key).await.expect("digest");
        let d2 = kv.digest(key).await.expect("digest");
        assert_eq!(d1, d2, "digest of {key} is stable");
        kv.last_modified(key).await.expect("last_modified");
        let m = kv.metadata(key).await.expect("metadata");
        assert_eq!(m.kind, EntryKind::Value, "metadata of {key} says value");
        assert_eq!(m.size, value.len() as u64, "metadata size of {key}");
        assert_eq!(
            m.last_modified,
            kv.last_modified(key).await.expect("last_modified"),
            "metadata modification time of {key}"
        );
        if let Some(d) = m.digest {
            assert_eq!(d, d1, "metadata digest of {key}");
        }
        let mut parent = key.parent();
        let mut child = key.basename().map(String::from);
        loop {
            let listing = kv.list(&parent).await.expect("list parent");
            let name = child.clone().expect("child");
            assert!(
                listing.iter().any(|(n, _)| *n == name),
                "list {parent} should contain {name}: {listing:?}"
            );
            let mut sorted = listing.clone();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(listing, sorted, "list {parent} is sorted");
            if parent.is_root() {
                break;
            }
            child = parent.basename().map(String::from);
            parent = parent.parent();
        }
    }
    let missing = k("conformance-no-such-key/at/all");
    assert_eq!(kv.exists(&missing).await.expect("exists"), None);
    assert!(
        matches!(kv.get(&missing).await, Err(KvError::NotFound(_))),
        "get of a missing key is NotFound"
    );
    assert!(
        matches!(
            kv.region(&missing, 0, 10).await,
            Ok(None) | Err(KvError::NotFound(_))
        ),
        "a region of a missing key is NotFound (or none, from a store lending none)"
    );
    assert_eq!(
        kv.exists(&Key::root()).await.expect("exists root"),
        Some(EntryKind::Dictionary),
        "the root is a dictionary"
    );
}

/// Checks the read-write contract on an empty store. Leaves it empty.
pub async fn kv_rw<K: KvRw + ?Sized>(kv: &K) {
    // set/get/exists and dictionaries appearing on the way.
    kv.set(&k("a/b/c"), Bytes::from_static(b"hello"))
        .await
        .expect("set a/b/c");
    assert_eq!(
        kv.exists(&k("a")).await.unwrap(),
        Some(EntryKind::Dictionary)
    );
    assert_eq!(
        kv.exists(&k("a/b")).await.unwrap(),
        Some(EntryKind::Dictionary)
    );
    assert_eq!(
        kv.exists(&k("a/b/c")).await.unwrap(),
        Some(EntryKind::Value)
    );
    assert_eq!(&kv.get(&k("a/b/c")).await.unwrap()[..], b"hello");
    assert!(
        matches!(kv.get(&k("a/b")).await, Err(KvError::ValueExpected(_))),
        "get on a dictionary is ValueExpected"
    );
    assert!(
        matches!(
            kv.list(&k("a/b/c")).await,
            Err(KvError::DictionaryExpected(_))
        ),
        "list on a value is DictionaryExpected"
    );
    assert!(
        matches!(
            kv.set(&k("a/b/c/d"), Bytes::new()).await,
            Err(KvError::DictionaryExpected(_))
        ),
        "set below a value is DictionaryExpected"
    );
    assert!(
        matches!(
            kv.set(&k("a/b"), Bytes::new()).await,
            Err(KvError::ValueExpected(_))
        ),
        "set on a dictionary is ValueExpected"
    );

    // Replacing, digests and listing.
    let d_hello = kv.digest(&k("a/b/c")).await.unwrap();
    kv.set(&k("a/b/c"), Bytes::from_static(b"world!"))
        .await
        .unwrap();
    assert_eq!(&kv.get(&k("a/b/c")).await.unwrap()[..], b"world!");
    assert_eq!(kv.size(&k("a/b/c")).await.unwrap(), 6);
    assert_ne!(
        kv.digest(&k("a/b/c")).await.unwrap(),
        d_hello,
        "digest follows content"
    );
    kv.set(&k("a/x"), Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(
        kv.digest(&k("a/x")).await.unwrap(),
        d_hello,
        "equal content, equal digest"
    );
    let d_dir = kv.digest(&k("a")).await.unwrap();
    assert_eq!(
        kv.list(&k("a")).await.unwrap(),
        vec![
            (String::from("b"), EntryKind::Dictionary),
            (String::from("x"), EntryKind::Value)
        ]
    );

    // Partial writes, with zero fill past the end.
    kv.set_partial(&k("a/x"), 1, b"EY").await.unwrap();
    assert_eq!(&kv.get(&k("a/x")).await.unwrap()[..], b"hEYlo");
    kv.set_partial(&k("a/x"), 7, b"!").await.unwrap();
    assert_eq!(&kv.get(&k("a/x")).await.unwrap()[..], b"hEYlo\0\0!");
    assert_ne!(
        kv.digest(&k("a")).await.unwrap(),
        d_dir,
        "a dictionary's digest follows its content"
    );
    kv.set_partial(&k("p/new"), 2, b"z").await.unwrap();
    assert_eq!(&kv.get(&k("p/new")).await.unwrap()[..], b"\0\0z");

    // Rename a value and a dictionary.
    kv.rename(&k("a/x"), &k("q/y")).await.expect("rename value");
    assert_eq!(kv.exists(&k("a/x")).await.unwrap(), None);
    assert_eq!(&kv.get(&k("q/y")).await.unwrap()[..], b"hEYlo\0\0!");
    kv.rename(&k("a"), &k("r/a2"))
        .await
        .expect("rename dictionary");
    assert_eq!(kv.exists(&k("a")).await.unwrap(), None);
    assert_eq!(&kv.get(&k("r/a2/b/c")).await.unwrap()[..], b"world!");
    assert!(
        matches!(
            kv.rename(&k("r"), &k("r/inner")).await,
            Err(KvError::RenameIntoItself { .. })
        ),
        "rename into itself is refused"
    );
    assert!(
        matches!(
            kv.rename(&k("nope"), &k("z")).await,
            Err(KvError::NotFound(_))
        ),
        "rename of a missing key is NotFound"
    );

    // Batches: all or nothing.
    let before = snapshot(kv).await;
    let bad = vec![
        Change::Set(k("batch/one"), Bytes::from_static(b"1")),
        Change::Set(k("q/y/under-a-value"), Bytes::from_static(b"2")),
    ];
    assert!(
        kv.batch(bad).await.is_err(),
        "a batch with a bad change fails"
    );
    assert_eq!(snapshot(kv).await, before, "a failed batch changes nothing");
    kv.batch(vec![
        Change::Set(k("batch/one"), Bytes::from_static(b"1")),
        Change::Set(k("batch/two"), Bytes::from_static(b"2")),
        Change::Remove(k("q")),
        Change::Remove(k("never/existed")),
    ])
    .await
    .expect("good batch");
    assert_eq!(&kv.get(&k("batch/two")).await.unwrap()[..], b"2");
    assert_eq!(kv.exists(&k("q")).await.unwrap(), None);

    // Remove values and whole dictionaries; removing twice is fine.
    kv.remove(&k("batch/one")).await.unwrap();
    kv.remove(&k("batch/one")).await.unwrap();
    assert_eq!(kv.exists(&k("batch/one")).await.unwrap(), None);
    let contents = snapshot(kv).await;
    kv_ro(kv, &contents).await;
    kv.remove(&k("r")).await.unwrap();
    assert_eq!(kv.exists(&k("r/a2/b/c")).await.unwrap(), None);
    for (key, _) in snapshot(kv).await {
        kv.remove(&key).await.unwrap();
    }
    assert!(snapshot(kv).await.is_empty(), "the store ends empty");
}

/// Every (key, value) in the store, walking from the root.
async fn snapshot<K: KvRo + ?Sized>(kv: &K) -> Vec<(Key, Bytes)> {
    let mut out = Vec::new();
    let mut todo = vec![Key::root()];
    while let Some(dir) = todo.pop() {
        for (name, kind) in kv.list(&dir).await.expect("list") {
            let key = dir.join(name).expect("listed names are valid");
            match kind {
                EntryKind::Value => {
                    let v = kv.get(&key).await.expect("get listed value");
                    out.push((key, v));
                }
                EntryKind::Dictionary => todo.push(key),
            }
        }
    }
    out.sort();
    out
}
