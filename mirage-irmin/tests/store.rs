//! The store API on the in-memory backend: paths, transactions, history,
//! merges with precise conflicts, detached stores and watches.

mod common;

use std::time::Duration;

use common::key;
use futures::StreamExt;
use futures::executor::block_on;
use mirage_core::EntryKind;
use mirage_core::mem::{Simulation, VirtualClock};
use mirage_irmin::merge::{counter, lines, ours};
use mirage_irmin::{
    Author, Conflict, ConflictReason, Info, MemBackend, MergeOutcome, Merges, Repo, Store,
    StoreError,
};

type MemRepo = Repo<MemBackend, VirtualClock>;

fn setup() -> (MemRepo, VirtualClock) {
    let clock = VirtualClock::default();
    (Repo::new(MemBackend::default(), clock.clone()), clock)
}

fn info(m: &str) -> Info {
    Info::new(Author::new("Test", "test@example.org"), m)
}

#[test]
fn set_get_list_remove() {
    let (repo, _) = setup();
    let main = repo.branch("main").unwrap();
    block_on(async {
        assert_eq!(main.head().await.unwrap(), None);
        assert_eq!(
            main.kind(&key("/")).await.unwrap(),
            Some(EntryKind::Dictionary)
        );
        assert_eq!(main.list(&key("/")).await.unwrap(), vec![]);
        let c1 = main
            .set(&key("a/b"), "1", info("one"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(main.head().await.unwrap(), Some(c1));
        assert_eq!(main.get(&key("a/b")).await.unwrap(), "1");
        assert_eq!(
            main.list(&key("a")).await.unwrap(),
            vec![("b".to_owned(), EntryKind::Value)]
        );
        assert!(matches!(
            main.get(&key("a")).await,
            Err(StoreError::ValueExpected(_))
        ));
        assert!(matches!(
            main.get(&key("zz")).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            main.set(&key("a/b/c"), "x", info("x")).await,
            Err(StoreError::DictionaryExpected(_))
        ));
        assert!(matches!(
            main.set(&key("x/.git/y"), "x", info("x")).await,
            Err(StoreError::ForbiddenPath(_))
        ));
        // Setting the same value again makes no commit.
        assert_eq!(
            main.set(&key("a/b"), "1", info("same")).await.unwrap(),
            Some(c1)
        );
        main.remove(&key("a/b"), info("rm")).await.unwrap();
        // Empty directories vanish, as in git.
        assert_eq!(main.kind(&key("a")).await.unwrap(), None);
        let head = main.head_commit().await.unwrap().unwrap();
        assert_eq!(head.parents, vec![c1]);
        assert_eq!(head.message, "rm\n");
        assert_eq!(head.author, Author::new("Test", "test@example.org"));
    });
}

#[test]
fn transactions_are_one_commit() {
    let (repo, _) = setup();
    let main = repo.branch("main").unwrap();
    block_on(async {
        main.set(&key("old"), "o", info("first")).await.unwrap();
        let mut tx = main.transaction();
        tx.set(key("x/1"), "1")
            .set(key("x/2"), "2")
            .remove(key("old"))
            .rename(key("x/2"), key("y/2"));
        let c = tx.commit(info("batch")).await.unwrap().unwrap();
        assert_eq!(repo.commit(&c).unwrap().parents.len(), 1);
        assert_eq!(repo.ancestors(c).unwrap().len(), 2);
        assert_eq!(main.get(&key("x/1")).await.unwrap(), "1");
        assert_eq!(main.get(&key("y/2")).await.unwrap(), "2");
        assert_eq!(main.find(&key("x/2")).await.unwrap(), None);
        assert_eq!(main.find(&key("old")).await.unwrap(), None);
        // A failing change leaves the branch alone.
        let mut tx = main.transaction();
        tx.set(key("z"), "z").set(key("x/1/under"), "bad");
        assert!(tx.commit(info("bad")).await.is_err());
        assert_eq!(main.head().await.unwrap(), Some(c));
    });
}

#[test]
fn history_and_last_modified_follow_changes_of_a_path() {
    let (repo, clock) = setup();
    let main = repo.branch("main").unwrap();
    block_on(async {
        let c1 = main.set(&key("a"), "1", info("a1")).await.unwrap().unwrap();
        clock.advance(Duration::from_secs(10));
        let c2 = main.set(&key("b"), "1", info("b1")).await.unwrap().unwrap();
        clock.advance(Duration::from_secs(10));
        let c3 = main.set(&key("a"), "2", info("a2")).await.unwrap().unwrap();
        clock.advance(Duration::from_secs(10));
        main.set(&key("d/e"), "1", info("d")).await.unwrap();
        assert_eq!(main.history_ids(&key("a")).await.unwrap(), vec![c3, c1]);
        assert_eq!(main.history_ids(&key("b")).await.unwrap(), vec![c2]);
        let last = main.last_modified(&key("a")).await.unwrap().unwrap();
        assert_eq!(last.id, c3);
        assert_eq!(last.time.secs, 1_700_000_020);
        assert_eq!(main.history(&key("d")).await.unwrap().len(), 1);
        assert_eq!(main.last_modified(&key("nope")).await.unwrap(), None);
        // Remembered answers follow the head.
        let c5 = main.set(&key("a"), "3", info("a3")).await.unwrap().unwrap();
        assert_eq!(main.last_modified(&key("a")).await.unwrap().unwrap().id, c5);
        assert_eq!(
            main.clone()
                .last_modified(&key("b"))
                .await
                .unwrap()
                .unwrap()
                .id,
            c2
        );
    });
}

#[test]
fn detached_stores_move_only_themselves() {
    let (repo, _) = setup();
    let main = repo.branch("main").unwrap();
    block_on(async {
        let c1 = main.set(&key("a"), "1", info("a")).await.unwrap().unwrap();
        let detached = repo.at_commit(c1);
        let c2 = detached
            .set(&key("a"), "2", info("detached"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(detached.head().await.unwrap(), Some(c2));
        assert_eq!(main.head().await.unwrap(), Some(c1));
        assert_eq!(detached.branch_name(), None);
        // Merging the detached work into main fast-forwards.
        let out = main
            .merge_commit(c2, &Merges::new(), info("ff"))
            .await
            .unwrap();
        assert_eq!(out, MergeOutcome::FastForward(c2));
        assert_eq!(
            main.merge_commit(c1, &Merges::new(), info("old"))
                .await
                .unwrap(),
            MergeOutcome::UpToDate
        );
    });
}

fn forked(
    repo: &MemRepo,
) -> (
    Store<MemBackend, VirtualClock>,
    Store<MemBackend, VirtualClock>,
) {
    let main = repo.branch("main").unwrap();
    block_on(async {
        let mut tx = main.transaction();
        tx.set(key("same"), "s")
            .set(key("both"), "base")
            .set(key("gone"), "g")
            .set(key("n"), "10")
            .set(key("dir/f"), "f");
        tx.commit(info("base")).await.unwrap();
    });
    let other = repo.branch("other").unwrap();
    block_on(other.merge_from(&main, &Merges::new(), info("fork"))).unwrap();
    (main, other)
}

#[test]
fn merge_combines_independent_changes() {
    let (repo, _) = setup();
    let (main, other) = forked(&repo);
    block_on(async {
        let base = main.head().await.unwrap().unwrap();
        main.set(&key("mine"), "m", info("mine")).await.unwrap();
        other
            .set(&key("theirs"), "t", info("theirs"))
            .await
            .unwrap();
        other.remove(&key("dir"), info("rm dir")).await.unwrap();
        let ours_head = main.head().await.unwrap().unwrap();
        let theirs_head = other.head().await.unwrap().unwrap();
        assert_eq!(repo.lca(ours_head, theirs_head).unwrap(), vec![base]);
        let MergeOutcome::Merged(m) = main
            .merge_from(&other, &Merges::new(), info("merge"))
            .await
            .unwrap()
        else {
            panic!("expected a merge commit");
        };
        assert_eq!(
            repo.commit(&m).unwrap().parents,
            vec![ours_head, theirs_head]
        );
        assert_eq!(main.get(&key("mine")).await.unwrap(), "m");
        assert_eq!(main.get(&key("theirs")).await.unwrap(), "t");
        assert_eq!(main.kind(&key("dir")).await.unwrap(), None);
        // Merging again is a no-op; the other way round fast-forwards.
        assert_eq!(
            main.merge_from(&other, &Merges::new(), info("again"))
                .await
                .unwrap(),
            MergeOutcome::UpToDate
        );
        assert_eq!(
            other
                .merge_from(&main, &Merges::new(), info("back"))
                .await
                .unwrap(),
            MergeOutcome::FastForward(m)
        );
    });
}

#[test]
fn merge_reports_every_conflict_precisely() {
    let (repo, _) = setup();
    let (main, other) = forked(&repo);
    block_on(async {
        let mut tx = main.transaction();
        tx.set(key("both"), "ours")
            .set(key("gone"), "changed")
            .set(key("new"), "a")
            .set(key("dir/f"), "changed");
        tx.commit(info("ours")).await.unwrap();
        let mut tx = other.transaction();
        tx.set(key("both"), "theirs")
            .remove(key("gone"))
            .set(key("new"), "b")
            .remove(key("dir"))
            .set(key("dir"), "now a value");
        tx.commit(info("theirs")).await.unwrap();
        let before = main.head().await.unwrap();
        let err = main
            .merge_from(&other, &Merges::new(), info("merge"))
            .await
            .unwrap_err();
        let StoreError::Conflicts(mut conflicts) = err else {
            panic!("{err}")
        };
        conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(
            conflicts,
            vec![
                Conflict {
                    path: key("both"),
                    reason: ConflictReason::BothModified
                },
                Conflict {
                    path: key("dir"),
                    reason: ConflictReason::ValueAndDirectory
                },
                Conflict {
                    path: key("gone"),
                    reason: ConflictReason::ModifiedAndRemoved
                },
                Conflict {
                    path: key("new"),
                    reason: ConflictReason::BothAdded
                },
            ]
        );
        assert_eq!(main.head().await.unwrap(), before, "nothing committed");
    });
}

#[test]
fn merge_functions_resolve_per_path() {
    let (repo, _) = setup();
    let (main, other) = forked(&repo);
    block_on(async {
        main.set(&key("n"), "15", info("+5")).await.unwrap();
        other.set(&key("n"), "13", info("+3")).await.unwrap();
        main.set(&key("both"), "ours", info("ours")).await.unwrap();
        other
            .set(&key("both"), "theirs", info("theirs"))
            .await
            .unwrap();
        let merges = Merges::new()
            .with(key("n"), counter)
            .with(key("both"), ours);
        main.merge_from(&other, &merges, info("merge"))
            .await
            .unwrap();
        assert_eq!(main.get(&key("n")).await.unwrap(), "18");
        assert_eq!(main.get(&key("both")).await.unwrap(), "ours");
        // A refusing function is reported with its reason.
        main.set(&key("n"), "x", info("x")).await.unwrap();
        other.set(&key("n"), "y", info("y")).await.unwrap();
        let err = main
            .merge_from(&other, &merges, info("merge"))
            .await
            .unwrap_err();
        let StoreError::Conflicts(c) = err else {
            panic!()
        };
        assert_eq!(c.len(), 1);
        assert!(matches!(&c[0].reason, ConflictReason::Refused(r) if r.contains("counter")));
    });
}

#[test]
fn criss_cross_merges_use_a_virtual_base() {
    let (repo, _) = setup();
    let (main, other) = forked(&repo);
    block_on(async {
        main.set(&key("a"), "1", info("a")).await.unwrap();
        other.set(&key("b"), "1", info("b")).await.unwrap();
        let m1 = main.head().await.unwrap().unwrap();
        let o1 = other.head().await.unwrap().unwrap();
        main.merge_commit(o1, &Merges::new(), info("m"))
            .await
            .unwrap();
        other
            .merge_commit(m1, &Merges::new(), info("o"))
            .await
            .unwrap();
        let (x, y) = (
            main.head().await.unwrap().unwrap(),
            other.head().await.unwrap().unwrap(),
        );
        let mut bases = repo.lca(x, y).unwrap();
        bases.sort();
        let mut expected = vec![m1, o1];
        expected.sort();
        assert_eq!(bases, expected);
        main.set(&key("a"), "2", info("a2")).await.unwrap();
        other.set(&key("b"), "2", info("b2")).await.unwrap();
        main.merge_from(&other, &Merges::new(), info("criss-cross"))
            .await
            .unwrap();
        assert_eq!(main.get(&key("a")).await.unwrap(), "2");
        assert_eq!(main.get(&key("b")).await.unwrap(), "2");
    });
}

#[test]
fn watch_yields_new_heads_in_virtual_time() {
    let mut sim = Simulation::new(7);
    let clock = sim.clock();
    let repo: MemRepo = Repo::new(MemBackend::default(), clock.clone());
    let main = repo.branch("main").unwrap();
    let writer = main.clone();
    let w_clock = clock.clone();
    let heads = sim
        .block_on(async move {
            let watched = main.watch(&clock, Duration::from_millis(100));
            let write = async {
                let mut made = Vec::new();
                for i in 0..3 {
                    mirage_core::Time::sleep(&w_clock, Duration::from_secs(1)).await;
                    made.push(
                        writer
                            .set(&key("k"), i.to_string(), info("w"))
                            .await
                            .unwrap()
                            .unwrap(),
                    );
                }
                made
            };
            let (seen, made) = futures::join!(watched.take(3).collect::<Vec<_>>(), write);
            (
                seen.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                made,
            )
        })
        .unwrap();
    assert_eq!(heads.0, heads.1);
}

#[test]
fn two_cooperative_tasks_committing_lose_nothing() {
    let mut sim = Simulation::new(11);
    let clock = sim.clock();
    let repo: MemRepo = Repo::new(MemBackend::default(), clock.clone());
    let tasks: Vec<_> = (0..2)
        .map(|t| {
            let (repo, clock) = (repo.clone(), clock.clone());
            sim.spawn(async move {
                let main = repo.branch("main").unwrap();
                for i in 0..50u64 {
                    // Interleave the two tasks at different paces.
                    mirage_core::Time::sleep(&clock, Duration::from_millis(3 + t * 5 + i % 7))
                        .await;
                    main.set(&key(&format!("t{t}/{i}")), i.to_string(), info("task"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    sim.block_on(futures::future::join_all(tasks)).unwrap();
    let main = repo.branch("main").unwrap();
    block_on(async {
        for t in 0..2 {
            assert_eq!(main.list(&key(&format!("t{t}"))).await.unwrap().len(), 50);
        }
        let head = main.head().await.unwrap().unwrap();
        assert_eq!(repo.ancestors(head).unwrap().len(), 100);
    });
}

#[test]
fn text_values_merge_line_by_line() {
    let (repo, _) = setup();
    let main = repo.branch("main").unwrap();
    let zone = key("zones/example.org");
    block_on(async {
        main.set(
            &zone,
            "$ORIGIN example.org.\nwww A 192.0.2.1\nmail A 192.0.2.2\nftp A 192.0.2.3\n",
            info("zone"),
        )
        .await
        .unwrap();
        let other = repo.at_commit(main.head().await.unwrap().unwrap());
        main.set(
            &zone,
            "$ORIGIN example.org.\nwww A 192.0.2.10\nmail A 192.0.2.2\nftp A 192.0.2.3\n",
            info("www"),
        )
        .await
        .unwrap();
        other
            .set(
                &zone,
                "$ORIGIN example.org.\nwww A 192.0.2.1\nmail A 192.0.2.2\nftp A 192.0.2.30\n",
                info("ftp"),
            )
            .await
            .unwrap();
        let merges = Merges::new().with(key("zones"), lines);
        let theirs = other.head().await.unwrap().unwrap();
        main.merge_commit(theirs, &merges, info("merge"))
            .await
            .unwrap();
        assert_eq!(
            main.get(&zone).await.unwrap(),
            "$ORIGIN example.org.\nwww A 192.0.2.10\nmail A 192.0.2.2\nftp A 192.0.2.30\n"
        );
        // The same line changed on both sides is a conflict.
        main.set(&zone, "changed here\n", info("a")).await.unwrap();
        other.set(&zone, "and there\n", info("b")).await.unwrap();
        let theirs = other.head().await.unwrap().unwrap();
        let err = main
            .merge_commit(theirs, &merges, info("merge"))
            .await
            .unwrap_err();
        let StoreError::Conflicts(c) = err else {
            panic!("{err}")
        };
        assert_eq!(
            c,
            vec![Conflict {
                path: zone.clone(),
                reason: ConflictReason::OverlappingLines
            }]
        );
    });
}
