//! Against the real `git`: `git daemon`, `git http-backend` behind a CGI
//! bridge, and `git upload-pack`/`receive-pack` for `file://`, all reached
//! through mirage-unix's host `SocketStack` on 127.0.0.1.

use std::collections::HashSet;
use std::path::Path;

use mirage_git::{
    Client, Error, Expect, FetchRequest, MemStore, ObjectId, ObjectStore, RefUpdate, Url,
};
use mirage_unix::SocketStack;

use crate::common::*;

/// Clones `url` and checks every object of the server's repository arrived
/// and every reference matches.
async fn clone_and_check(stack: &SocketStack, url: &Url, repo: &Path) -> MemStore {
    let store = MemStore::new();
    let mut progress = Vec::new();
    let outcome = Client::new(stack)
        .clone(url, &store, &mut progress_sink(&mut progress))
        .await
        .unwrap();
    let expected: HashSet<ObjectId> = all_objects(repo).into_iter().collect();
    let got: HashSet<ObjectId> = store.ids().into_iter().collect();
    assert_eq!(got, expected, "the clone has exactly the server's objects");
    assert_eq!(outcome.objects, expected.len());
    assert_eq!(outcome.head_target(), Some("refs/heads/main"));
    for name in [
        "refs/heads/main",
        "refs/heads/side",
        "refs/tags/v1",
        "refs/tags/light",
    ] {
        assert_eq!(outcome.get(name), Some(rev(repo, name)), "{name}");
    }
    let v1 = outcome
        .refs
        .iter()
        .find(|r| r.name == "refs/tags/v1")
        .unwrap();
    assert_eq!(v1.peeled, Some(rev(repo, "v1^{commit}")));
    assert!(
        !progress.is_empty(),
        "the server's progress reached the callback"
    );
    store
}

/// Pushes a new commit on main, a new branch, deletes it, then a
/// non-fast-forward push that the server rejects, and a stale lease.
async fn push_scenarios(stack: &SocketStack, url: &Url, repo: &Path, store: &MemStore) {
    let client = Client::new(stack);
    let old = rev(repo, "refs/heads/main");
    let new = commit_on(
        store,
        Some(old),
        "pushed",
        "pushed content\n",
        1_700_000_000,
    );
    let outcome = client
        .push(
            url,
            store,
            &[RefUpdate {
                name: "refs/heads/main".into(),
                new: Some(new),
                expect: Expect::Value(old),
            }],
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.updated,
        vec![("refs/heads/main".to_string(), Some(old), Some(new))]
    );
    assert_eq!(
        outcome.objects_sent, 3,
        "commit, root tree and blob; the rest is on the server"
    );
    assert_eq!(rev(repo, "refs/heads/main"), new);
    let log = git(repo, &["log", "--format=%s", "-2", "main"]);
    assert_eq!(log, "pushed\ncommit 11\n");
    git(repo, &["fsck", "--full", "--strict"]);

    // A new branch, then its deletion.
    let outcome = client
        .push(
            url,
            store,
            &[RefUpdate {
                name: "refs/heads/topic".into(),
                new: Some(new),
                expect: Expect::Absent,
            }],
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(outcome.objects_sent, 0);
    assert_eq!(rev(repo, "refs/heads/topic"), new);
    client
        .push(
            url,
            store,
            &[RefUpdate {
                name: "refs/heads/topic".into(),
                new: None,
                expect: Expect::Value(new),
            }],
            &mut |_| {},
        )
        .await
        .unwrap();
    assert!(!git(repo, &["branch", "--list"]).contains("topic"));

    // Diverged history: the server refuses the non-fast-forward update.
    let diverged = commit_on(store, Some(old), "diverged", "other\n", 1_700_000_100);
    let err = client
        .push(
            url,
            store,
            &[RefUpdate {
                name: "refs/heads/main".into(),
                new: Some(diverged),
                expect: Expect::Any,
            }],
            &mut |_| {},
        )
        .await
        .unwrap_err();
    match err {
        Error::Rejected(r) => {
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].refname, "refs/heads/main");
            assert!(r[0].reason.contains("non-fast-forward"), "{}", r[0].reason);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(
        rev(repo, "refs/heads/main"),
        new,
        "the server's branch did not move"
    );

    // A stale expectation is refused before anything is sent.
    let err = client
        .push(
            url,
            store,
            &[RefUpdate {
                name: "refs/heads/main".into(),
                new: Some(diverged),
                expect: Expect::Value(old),
            }],
            &mut |_| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rejected(ref r) if r[0].reason.starts_with("stale info")),
        "{err:?}"
    );
    git(repo, &["fsck", "--full"]);
}

#[test]
fn daemon_clone_fetch_push() {
    if !have_git("daemon_clone_fetch_push") {
        return;
    }
    let tmp = TempDir::new("daemon");
    let repo = make_repo(&tmp.0);
    assert!(
        pack_has_deltas(&repo),
        "the test repository must have deltas"
    );
    let daemon = daemon(&tmp.0);
    let url = Url::parse(&format!("git://127.0.0.1:{}/repo.git", daemon.port)).unwrap();
    let stack = SocketStack::new();
    run(async {
        let store = clone_and_check(&stack, &url, &repo).await;

        // Nothing new: no pack at all.
        let main = rev(&repo, "refs/heads/main");
        let req = FetchRequest {
            refs: vec!["refs/heads/*".into()],
            local_tips: vec![main],
            ..Default::default()
        };
        let outcome = Client::new(&stack)
            .fetch(&url, &store, &req, &mut |_| {})
            .await
            .unwrap();
        assert_eq!((outcome.objects, outcome.rounds), (0, 0));

        push_scenarios(&stack, &url, &repo, &store).await;

        // A repository the daemon does not have: its ERR line is the error.
        let missing = Url::parse(&format!("git://127.0.0.1:{}/missing.git", daemon.port)).unwrap();
        let err = Client::new(&stack)
            .ls_refs(&missing, &[])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Protocol(mirage_git::ProtocolError::Remote(ref m)) if m.contains("missing.git")),
            "{err:?}"
        );
    });
}

/// A fetch from a store with 60 commits the server never saw on top of
/// an old main, after the server moved on by one commit: several rounds of
/// `have`s before the common commit, then only the new objects.
async fn negotiate_over_rounds(stack: &SocketStack, url: &Url, base: &Path, repo: &Path) {
    let client = Client::new(stack);
    let store = MemStore::new();
    let req = FetchRequest {
        refs: vec!["refs/heads/main".into()],
        ..Default::default()
    };
    let first = client.fetch(url, &store, &req, &mut |_| {}).await.unwrap();
    let old_main = first.get("refs/heads/main").unwrap();
    assert!(store.contains(&old_main).unwrap());
    assert!(
        first.get("refs/heads/side").is_none(),
        "only the requested reference"
    );

    let mut local = old_main;
    for i in 0..60 {
        local = commit_on(
            &store,
            Some(local),
            &format!("local{i}"),
            "x\n",
            1_700_000_000 + i,
        );
    }
    let work = base.join("work");
    std::fs::write(work.join("new.txt"), "new upstream work\n").unwrap();
    // A small change to a large file: git sends it as a delta against the
    // version we have (a thin pack). With reachability bitmaps (written by
    // `gc` in a bare repository) git skips thin-pack bases, so they are off.
    git(repo, &["config", "pack.useBitmaps", "false"]);
    let mut story = std::fs::read_to_string(work.join("story.txt")).unwrap();
    story.push_str("one more line\n");
    std::fs::write(work.join("story.txt"), story).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "upstream"]);
    git(&work, &["push", "-q", repo.to_str().unwrap(), "main"]);
    let new_main = rev(repo, "refs/heads/main");

    let before = store.len();
    let req = FetchRequest {
        refs: vec!["refs/heads/main".into()],
        local_tips: vec![local],
        ..Default::default()
    };
    let outcome = client.fetch(url, &store, &req, &mut |_| {}).await.unwrap();
    assert_eq!(outcome.get("refs/heads/main"), Some(new_main));
    assert!(
        outcome.rounds >= 3,
        "16 + 32 unknown haves before the common one: {} rounds",
        outcome.rounds
    );
    assert_eq!(
        outcome.objects, 4,
        "only the new commit, its tree and the two blobs"
    );
    assert_eq!(store.len(), before + 4);
    assert!(store.contains(&new_main).unwrap());
    assert!(
        outcome.thin_bases > 0,
        "the changed blob came as a delta against ours"
    );
}

#[test]
fn daemon_incremental_fetch_negotiates_over_rounds() {
    if !have_git("daemon_incremental_fetch_negotiates_over_rounds") {
        return;
    }
    let tmp = TempDir::new("rounds");
    let repo = make_repo(&tmp.0);
    let daemon = daemon(&tmp.0);
    let url = Url::parse(&format!("git://127.0.0.1:{}/repo.git", daemon.port)).unwrap();
    run(negotiate_over_rounds(
        &SocketStack::new(),
        &url,
        &tmp.0,
        &repo,
    ));
}

#[test]
fn http_incremental_fetch_negotiates_statelessly() {
    if !have_git("http_incremental_fetch_negotiates_statelessly") {
        return;
    }
    let tmp = TempDir::new("http-rounds");
    let repo = make_repo(&tmp.0);
    let bridge = CgiBridge::start(&tmp.0);
    let url = Url::parse(&format!("http://127.0.0.1:{}/repo.git", bridge.port)).unwrap();
    run(negotiate_over_rounds(
        &SocketStack::new(),
        &url,
        &tmp.0,
        &repo,
    ));
}

#[test]
fn daemon_shallow_clone() {
    if !have_git("daemon_shallow_clone") {
        return;
    }
    let tmp = TempDir::new("shallow");
    let repo = make_repo(&tmp.0);
    let daemon = daemon(&tmp.0);
    let url = Url::parse(&format!("git://127.0.0.1:{}/repo.git", daemon.port)).unwrap();
    let stack = SocketStack::new();
    run(async {
        let store = MemStore::new();
        let req = FetchRequest {
            refs: vec!["refs/heads/main".into()],
            deepen: Some(1),
            ..Default::default()
        };
        let outcome = Client::new(&stack)
            .fetch(&url, &store, &req, &mut |_| {})
            .await
            .unwrap();
        let main = rev(&repo, "refs/heads/main");
        assert_eq!(outcome.shallow, vec![main]);
        assert!(store.contains(&main).unwrap());
        let parent = rev(&repo, "refs/heads/main~1");
        assert!(!store.contains(&parent).unwrap(), "depth 1 has no parent");
        assert!(outcome.objects < all_objects(&repo).len());

        // A commit on top of the shallow history pushes: the missing
        // parents are the server's.
        let new = commit_on(&store, Some(main), "from-shallow", "s\n", 1_700_000_000);
        let pushed = Client::new(&stack)
            .push(
                &url,
                &store,
                &[RefUpdate {
                    name: "refs/heads/main".into(),
                    new: Some(new),
                    expect: Expect::Value(main),
                }],
                &mut |_| {},
            )
            .await
            .unwrap();
        assert_eq!(pushed.objects_sent, 3);
        assert_eq!(rev(&repo, "refs/heads/main"), new);
        git(&repo, &["fsck", "--full"]);

        // The server moves on; a later fetch names our shallow boundary and
        // gets only the new objects.
        let work = tmp.0.join("work");
        git(
            &work,
            &["pull", "-q", "--ff-only", repo.to_str().unwrap(), "main"],
        );
        std::fs::write(work.join("later.txt"), "later\n").unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "later"]);
        git(&work, &["push", "-q", repo.to_str().unwrap(), "main"]);
        let later = rev(&repo, "refs/heads/main");
        let req = FetchRequest {
            refs: vec!["refs/heads/main".into()],
            local_tips: vec![new],
            shallow: outcome.shallow.clone(),
            ..Default::default()
        };
        let again = Client::new(&stack)
            .fetch(&url, &store, &req, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(again.get("refs/heads/main"), Some(later));
        assert_eq!(again.objects, 3, "the later commit, its tree and blob");
        assert!(again.shallow.is_empty());
    });
}

#[test]
fn http_backend_clone_fetch_push() {
    if !have_git("http_backend_clone_fetch_push") {
        return;
    }
    let tmp = TempDir::new("http");
    let repo = make_repo(&tmp.0);
    let bridge = CgiBridge::start(&tmp.0);
    let url = Url::parse(&format!("http://127.0.0.1:{}/repo.git", bridge.port)).unwrap();
    let stack = SocketStack::new();
    run(async {
        let refs = Client::new(&stack)
            .ls_refs(&url, &["refs/tags/".into()])
            .await
            .unwrap();
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["refs/tags/light", "refs/tags/v1"]);
        let store = clone_and_check(&stack, &url, &repo).await;
        push_scenarios(&stack, &url, &repo, &store).await;
    });
    assert!(bridge.requests.load(std::sync::atomic::Ordering::Relaxed) >= 6);

    // A missing repository is an HTTP status error, not a hang or panic.
    let missing = Url::parse(&format!("http://127.0.0.1:{}/nope.git", bridge.port)).unwrap();
    let err = run(async {
        Client::new(&stack)
            .ls_refs(&missing, &[])
            .await
            .unwrap_err()
    });
    assert!(
        matches!(
            err,
            Error::Transport(mirage_git::error::TransportError::Http(
                mirage_git::error::HttpError::Status { status: 404, .. }
            ))
        ),
        "{err:?}"
    );
}

#[test]
fn file_clone_and_push() {
    if !have_git("file_clone_and_push") {
        return;
    }
    let tmp = TempDir::new("file");
    let repo = make_repo(&tmp.0);
    let url = Url::parse(&format!("file://{}", repo.display())).unwrap();
    let stack = SocketStack::new();
    run(async {
        let store = clone_and_check(&stack, &url, &repo).await;
        push_scenarios(&stack, &url, &repo, &store).await;

        // Without progress: the callback hears nothing.
        let quiet = mirage_git::Options {
            no_progress: true,
            ..Default::default()
        };
        let mut progress = Vec::new();
        let outcome = Client::with_options(&stack, quiet)
            .clone(&url, &MemStore::new(), &mut |p| {
                progress.extend_from_slice(p)
            })
            .await
            .unwrap();
        assert!(outcome.objects > 0);
        assert!(
            progress.is_empty(),
            "{}",
            String::from_utf8_lossy(&progress)
        );
    });
}

#[test]
fn daemon_empty_repository_push_then_clone() {
    if !have_git("daemon_empty_repository_push_then_clone") {
        return;
    }
    let tmp = TempDir::new("empty");
    let repo = tmp.0.join("empty.git");
    git(
        &tmp.0,
        &["init", "-q", "--bare", "-b", "main", repo.to_str().unwrap()],
    );
    let daemon = daemon(&tmp.0);
    let url = Url::parse(&format!("git://127.0.0.1:{}/empty.git", daemon.port)).unwrap();
    let stack = SocketStack::new();
    run(async {
        let client = Client::new(&stack);
        let empty = MemStore::new();
        let outcome = client.clone(&url, &empty, &mut |_| {}).await.unwrap();
        assert_eq!(outcome.objects, 0);
        assert!(empty.is_empty());
        let head = outcome
            .refs
            .iter()
            .find(|r| r.name == "HEAD")
            .expect("unborn HEAD listed");
        assert_eq!(
            (head.id, head.symref_target.as_deref()),
            (None, Some("refs/heads/main"))
        );

        // The first push into the empty repository, then a clone of it.
        let store = MemStore::new();
        let first = commit_on(&store, None, "first", "hello\n", 1_700_000_000);
        let second = commit_on(&store, Some(first), "second", "again\n", 1_700_000_001);
        let pushed = client
            .push(
                &url,
                &store,
                &[RefUpdate {
                    name: "refs/heads/main".into(),
                    new: Some(second),
                    expect: Expect::Absent,
                }],
                &mut |_| {},
            )
            .await
            .unwrap();
        assert_eq!(pushed.objects_sent, store.len());
        assert_eq!(
            git(&repo, &["log", "--format=%s", "main"]),
            "second\nfirst\n"
        );
        git(&repo, &["fsck", "--full", "--strict"]);

        let again = MemStore::new();
        let outcome = client.clone(&url, &again, &mut |_| {}).await.unwrap();
        assert_eq!(outcome.get("refs/heads/main"), Some(second));
        let mut a = again.ids();
        let mut b = store.ids();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    });
}

#[test]
fn file_atomic_push_is_all_or_nothing() {
    if !have_git("file_atomic_push_is_all_or_nothing") {
        return;
    }
    let tmp = TempDir::new("atomic");
    let repo = make_repo(&tmp.0);
    let url = Url::parse(repo.to_str().unwrap()).unwrap();
    let stack = SocketStack::new();
    run(async {
        let store = MemStore::new();
        Client::new(&stack)
            .clone(&url, &store, &mut |_| {})
            .await
            .unwrap();
        let main = rev(&repo, "refs/heads/main");
        let side = rev(&repo, "refs/heads/side");
        let ahead = commit_on(&store, Some(side), "ahead", "a\n", 1_700_000_000);
        let diverged = commit_on(
            &store,
            Some(rev(&repo, "refs/heads/main~1")),
            "diverged",
            "d\n",
            1_700_000_001,
        );
        let updates = [
            RefUpdate {
                name: "refs/heads/side".into(),
                new: Some(ahead),
                expect: Expect::Value(side),
            },
            RefUpdate {
                name: "refs/heads/main".into(),
                new: Some(diverged),
                expect: Expect::Value(main),
            },
        ];
        let options = mirage_git::Options {
            atomic_push: true,
            ..Default::default()
        };
        let err = Client::with_options(&stack, options)
            .push(&url, &store, &updates, &mut |_| {})
            .await
            .unwrap_err();
        let Error::Rejected(rejected) = err else {
            panic!("expected a rejection: {err:?}")
        };
        assert_eq!(rejected.len(), 2, "{rejected:?}");
        assert!(
            rejected
                .iter()
                .any(|r| r.refname == "refs/heads/main" && r.reason.contains("non-fast-forward"))
        );
        assert_eq!(rev(&repo, "refs/heads/side"), side, "nothing moved");

        // Without atomic, the good update lands and the bad one is reported.
        let err = Client::new(&stack)
            .push(&url, &store, &updates, &mut |_| {})
            .await
            .unwrap_err();
        let Error::Rejected(rejected) = err else {
            panic!("expected a rejection: {err:?}")
        };
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].refname, "refs/heads/main");
        assert_eq!(rev(&repo, "refs/heads/side"), ahead);
        assert_eq!(rev(&repo, "refs/heads/main"), main);
    });
}

#[test]
fn daemon_over_ipv6_loopback() {
    if !have_git("daemon_over_ipv6_loopback") {
        return;
    }
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("SKIP: daemon_over_ipv6_loopback: no IPv6 loopback on this host");
        return;
    }
    let tmp = TempDir::new("ipv6");
    let repo = make_repo(&tmp.0);
    let daemon = daemon_on(&tmp.0, std::net::Ipv6Addr::LOCALHOST.into());
    let url = Url::parse(&format!("git://[::1]:{}/repo.git", daemon.port)).unwrap();
    let stack = SocketStack::new();
    run(async {
        let refs = Client::new(&stack)
            .ls_refs(&url, &["refs/heads/".into()])
            .await
            .unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].id, Some(rev(&repo, "refs/heads/main")));
    });
}
