use std::fs;
use std::os::unix::fs::symlink;

use bytes::Bytes;
use mirage_core::{Change, EntryKind, Key, KvError, KvRo, KvRw, conformance};
use mirage_unix::DirKv;
use mirage_unix::kv::DirKvError;

use crate::block_on;

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn is_storage(e: &KvError, f: impl Fn(&DirKvError) -> bool) -> bool {
    match e {
        KvError::Storage(inner) => inner.downcast_ref::<DirKvError>().is_some_and(f),
        _ => false,
    }
}

/// Names in `dir/.dirkv` (temporary files and journals left behind).
fn leftovers(dir: &std::path::Path) -> Vec<String> {
    match fs::read_dir(dir.join(".dirkv")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn dir_kv_meets_the_read_write_contract() {
    let dir = tempfile::tempdir().unwrap();
    let kv = DirKv::open(dir.path(), true).unwrap();
    block_on(conformance::kv_rw(&kv));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [".dirkv"], "empty dictionaries are pruned");
}

#[test]
fn dir_kv_reads_a_tree_made_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("site/css")).unwrap();
    fs::write(root.join("site/index.html"), "<h1>hi</h1>").unwrap();
    fs::write(root.join("site/css/main.css"), "body{}").unwrap();
    fs::write(root.join("README"), "").unwrap();
    let kv = DirKv::open(root, false).unwrap();
    let expected = vec![
        (k("site/index.html"), Bytes::from_static(b"<h1>hi</h1>")),
        (k("site/css/main.css"), Bytes::from_static(b"body{}")),
        (k("README"), Bytes::new()),
    ];
    block_on(async {
        conformance::kv_ro(&kv, &expected).await;
        assert!(matches!(
            kv.set(&k("x"), Bytes::new()).await,
            Err(KvError::ReadOnly)
        ));
        assert!(matches!(
            kv.remove(&k("README")).await,
            Err(KvError::ReadOnly)
        ));
        assert!(matches!(kv.batch(vec![]).await, Err(KvError::ReadOnly)));
        // SHA-256("<h1>hi</h1>") as computed by sha256sum.
        let d = kv.digest(&k("site/index.html")).await.unwrap();
        assert_eq!(
            d.to_string(),
            "e7fbb6fbbf4ce294913eb62b53ff03a7546649cfdc0d824d9e3a2b4541502f7f"
        );
        let site = kv.digest(&k("site")).await.unwrap();
        fs::write(root.join("site/css/main.css"), "body{color:red}").unwrap();
        assert_ne!(kv.digest(&k("site")).await.unwrap(), site);
        assert!(kv.last_modified(&k("site")).await.unwrap().secs > 1_577_836_800);
    });
    assert!(
        !root.join(".dirkv").exists(),
        "a read-only store writes nothing"
    );
}

#[test]
fn symlinks_stay_inside_the_root() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "s3cret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("real")).unwrap();
    fs::write(root.join("real/file"), "inside").unwrap();
    symlink(outside.path(), root.join("escape")).unwrap();
    symlink(root.join("real"), root.join("alias")).unwrap();
    symlink("/etc/passwd", root.join("real/up")).unwrap();
    let kv = DirKv::open(root, true).unwrap();
    block_on(async {
        let e = kv.get(&k("escape/secret")).await.unwrap_err();
        assert!(
            is_storage(&e, |e| matches!(e, DirKvError::OutsideRoot(_))),
            "{e}"
        );
        let e = kv.get(&k("real/up")).await.unwrap_err();
        assert!(
            is_storage(&e, |e| matches!(e, DirKvError::OutsideRoot(_))),
            "{e}"
        );
        let e = kv.set(&k("escape/new"), Bytes::new()).await.unwrap_err();
        assert!(
            is_storage(&e, |e| matches!(e, DirKvError::OutsideRoot(_))),
            "{e}"
        );
        assert!(!outside.path().join("new").exists());
        assert_eq!(&kv.get(&k("alias/file")).await.unwrap()[..], b"inside");
        let names: Vec<_> = kv.list(&Key::root()).await.unwrap();
        assert_eq!(
            names,
            vec![
                ("alias".to_string(), EntryKind::Dictionary),
                ("real".to_string(), EntryKind::Dictionary)
            ],
            "links leading outside are not listed"
        );
    });
}

#[test]
fn the_reserved_directory_is_invisible_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kv = DirKv::open(dir.path(), true).unwrap();
    block_on(async {
        kv.set(&k("a"), Bytes::from_static(b"1")).await.unwrap();
        kv.remove(&k("a")).await.unwrap();
        kv.set(&k("b/c"), Bytes::from_static(b"1")).await.unwrap();
        kv.remove(&k("b")).await.unwrap();
        assert!(dir.path().join(".dirkv").is_dir());
        assert_eq!(kv.list(&Key::root()).await.unwrap(), vec![]);
        assert_eq!(kv.exists(&k(".dirkv")).await.unwrap(), None);
        let e = kv.set(&k(".dirkv/x"), Bytes::new()).await.unwrap_err();
        assert!(
            is_storage(&e, |e| matches!(e, DirKvError::Reserved(_))),
            "{e}"
        );
        let e = kv
            .batch(vec![Change::Remove(k(".dirkv"))])
            .await
            .unwrap_err();
        assert!(
            is_storage(&e, |e| matches!(e, DirKvError::Reserved(_))),
            "{e}"
        );
        kv.remove(&Key::root()).await.unwrap();
        assert!(
            dir.path().join(".dirkv").is_dir(),
            "removing the root keeps it"
        );
    });
}

#[test]
fn batches_are_checked_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let kv = DirKv::open(dir.path(), true).unwrap();
    block_on(async {
        kv.set(&k("a"), Bytes::from_static(b"value")).await.unwrap();
        // A value can become a dictionary once removed, in the same batch.
        kv.batch(vec![
            Change::Remove(k("a")),
            Change::Set(k("a/b"), Bytes::from_static(b"1")),
        ])
        .await
        .unwrap();
        assert_eq!(
            kv.exists(&k("a")).await.unwrap(),
            Some(EntryKind::Dictionary)
        );
        // And back, once what it holds is removed.
        kv.batch(vec![
            Change::Remove(k("a/b")),
            Change::Set(k("a"), Bytes::from_static(b"again")),
        ])
        .await
        .unwrap();
        assert_eq!(&kv.get(&k("a")).await.unwrap()[..], b"again");
        // Setting below a value set earlier in the batch fails, changing nothing.
        let e = kv
            .batch(vec![
                Change::Set(k("x"), Bytes::new()),
                Change::Set(k("x/y"), Bytes::new()),
            ])
            .await
            .unwrap_err();
        assert!(
            matches!(e, KvError::DictionaryExpected(ref p) if *p == k("x")),
            "{e}"
        );
        assert_eq!(kv.exists(&k("x")).await.unwrap(), None);
        // A dictionary that still holds values cannot be set.
        let e = kv
            .batch(vec![
                Change::Set(k("d/1"), Bytes::new()),
                Change::Set(k("d/2"), Bytes::new()),
                Change::Remove(k("d/1")),
                Change::Set(k("d"), Bytes::new()),
            ])
            .await
            .unwrap_err();
        assert!(matches!(e, KvError::ValueExpected(_)), "{e}");
        assert_eq!(kv.exists(&k("d")).await.unwrap(), None);
    });
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn an_empty_directory_gives_way_to_a_value() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("e/f")).unwrap();
    let kv = DirKv::open(dir.path(), true).unwrap();
    block_on(async {
        kv.set(&k("e"), Bytes::from_static(b"v")).await.unwrap();
        assert_eq!(&kv.get(&k("e")).await.unwrap()[..], b"v");
    });
}

/// Lays out a batch as a crash would leave it: staged values, maybe a
/// journal (`S<index> <key>` or `R<key>`, each ending in NUL) and progress.
fn crashed_batch(root: &std::path::Path, id: &str, journal: Option<&[u8]>, progress: usize) {
    let b = root.join(".dirkv").join(format!("batch-{id}"));
    fs::create_dir_all(&b).unwrap();
    fs::write(b.join("0"), "zero").unwrap();
    fs::write(b.join("2"), "two").unwrap();
    if let Some(j) = journal {
        fs::write(b.join("journal"), j).unwrap();
    }
    fs::write(b.join("progress"), ".".repeat(progress)).unwrap();
}

#[test]
fn reopening_completes_committed_batches_and_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("old"), "old").unwrap();
    fs::write(root.join("gone"), "x").unwrap();
    let journal = b"S0 /n/zero\0R/gone\0S2 /old\0";
    crashed_batch(root, "committed", Some(journal), 1);
    // The first change was applied before the crash.
    fs::create_dir(root.join("n")).unwrap();
    fs::rename(root.join(".dirkv/batch-committed/0"), root.join("n/zero")).unwrap();
    crashed_batch(root, "uncommitted", None, 0);
    let kv = DirKv::open(root, true).unwrap();
    block_on(async {
        assert_eq!(&kv.get(&k("n/zero")).await.unwrap()[..], b"zero");
        assert_eq!(&kv.get(&k("old")).await.unwrap()[..], b"two");
        assert_eq!(kv.exists(&k("gone")).await.unwrap(), None);
    });
    assert_eq!(leftovers(root), Vec::<String>::new());

    // A batch whose writer still holds its lock is left alone.
    crashed_batch(root, "live", Some(b"R/old\0"), 0);
    let lock = fs::File::create(root.join(".dirkv/batch-live.lock")).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&lock);
    // SAFETY: flock on a descriptor that `lock` owns and keeps open.
    let locked = unsafe { libc::flock(fd, libc::LOCK_EX) };
    assert_eq!(locked, 0);
    let again = DirKv::open(root, true).unwrap();
    assert!(root.join(".dirkv/batch-live/journal").exists());
    drop(lock);
    drop(again);
    DirKv::open(root, true).unwrap();
    assert!(
        !root.join("old").exists(),
        "completed once the lock is free"
    );

    crashed_batch(root, "corrupt", Some(b"garbage"), 0);
    assert!(matches!(
        DirKv::open(root, true),
        Err(DirKvError::CorruptJournal(_))
    ));
}

#[test]
fn opening_checks_the_root() {
    assert!(matches!(
        DirKv::open("/nonexistent/store", false),
        Err(DirKvError::Open { .. })
    ));
    let f = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(
        DirKv::open(f.path(), false),
        Err(DirKvError::NotADirectory(_))
    ));
}

#[test]
fn metadata_agrees_with_the_single_questions() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "s3cret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("site/css")).unwrap();
    fs::write(root.join("site/index.html"), "<h1>hi</h1>").unwrap();
    fs::write(root.join("site/css/main.css"), "body{}").unwrap();
    fs::write(root.join("top.txt"), "at the top").unwrap();
    // Relative links: one staying inside (resolved by the kernel beneath
    // the root), one climbing out of it.
    symlink("site/index.html", root.join("home.html")).unwrap();
    symlink("..", root.join("site/css/up")).unwrap();
    // Both temporary directories lie in the same parent.
    let outside_name = outside.path().file_name().unwrap().to_str().unwrap();
    symlink(
        format!("../../../{outside_name}/secret"),
        root.join("site/css/out"),
    )
    .unwrap();
    symlink(
        outside.path().join("secret"),
        root.join("site/absolute-out"),
    )
    .unwrap();
    let fifo = root.join("site/fifo");
    let fifo_made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !fifo_made {
        println!("SKIP (fifo part): mkfifo is not available");
    }
    let kv = DirKv::open(root, false).unwrap();
    block_on(async {
        for key in [
            "top.txt",
            "site/index.html",
            "site/css/main.css",
            "home.html",
            "site/css/up/index.html",
            "site",
            "site/css/up",
        ] {
            let key = k(key);
            let m = kv.metadata(&key).await.unwrap();
            assert_eq!(Some(m.kind), kv.exists(&key).await.unwrap(), "{key}");
            assert_eq!(
                m.last_modified,
                kv.last_modified(&key).await.unwrap(),
                "{key}"
            );
            match m.kind {
                EntryKind::Value => assert_eq!(m.size, kv.size(&key).await.unwrap(), "{key}"),
                EntryKind::Dictionary => assert_eq!(m.size, 0, "{key}"),
            }
        }
        let root_meta = kv.metadata(&Key::root()).await.unwrap();
        assert_eq!(root_meta.kind, EntryKind::Dictionary);
        assert_eq!(&kv.get(&k("home.html")).await.unwrap()[..], b"<h1>hi</h1>");
        assert_eq!(
            &kv.get_partial(&k("site/css/up/css/main.css"), 1, 3)
                .await
                .unwrap()[..],
            b"ody"
        );
        for key in [
            "nothing",
            "site/nothing",
            "site/index.html/below",
            "top.txt/below",
            ".dirkv",
        ] {
            assert!(
                matches!(kv.metadata(&k(key)).await, Err(KvError::NotFound(_))),
                "{key}"
            );
            assert_eq!(kv.exists(&k(key)).await.unwrap(), None, "{key}");
        }
        symlink(outside.path().join("secret"), root.join("top-out")).unwrap();
        symlink("..", root.join("top-up")).unwrap();
        let up = format!("top-up/{outside_name}/secret");
        for key in ["site/css/out", "site/absolute-out", "top-out", &up] {
            let outside_root =
                |e: KvError| is_storage(&e, |e| matches!(e, DirKvError::OutsideRoot(_)));
            assert!(
                outside_root(kv.metadata(&k(key)).await.unwrap_err()),
                "{key}"
            );
            assert!(outside_root(kv.exists(&k(key)).await.unwrap_err()), "{key}");
            assert!(outside_root(kv.size(&k(key)).await.unwrap_err()), "{key}");
            assert!(outside_root(kv.get(&k(key)).await.unwrap_err()), "{key}");
            assert!(
                outside_root(kv.get_partial(&k(key), 0, 10).await.unwrap_err()),
                "{key}"
            );
        }
        if fifo_made {
            // Neither a value nor a dictionary, and opening it does not block.
            assert_eq!(kv.exists(&k("site/fifo")).await.unwrap(), None);
            assert!(matches!(
                kv.metadata(&k("site/fifo")).await,
                Err(KvError::NotFound(_))
            ));
            assert!(matches!(
                kv.get(&k("site/fifo")).await,
                Err(KvError::NotFound(_))
            ));
        }
    });
}
