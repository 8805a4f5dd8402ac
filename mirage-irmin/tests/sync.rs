//! Sync against the real `git`: clone, fetch, pull (fast-forward, refused,
//! merged, mirrored) and push (fast-forward, refused, forced) between our
//! on-disk repository and a bare repository served by `git daemon` on
//! 127.0.0.1, through mirage-unix's host sockets. Skips without `git`.

use bytes::Bytes;
use mirage_core::Key;
use mirage_irmin::sync::{PullMode, Pulled, SyncError, Url};
use mirage_irmin::{Author, FsBackend, FsOptions, HashKind, Info, ObjectId, Repo};
use mirage_testkit::git::{DaemonOptions, Git, GitDaemon, Remote};
use mirage_testkit::runtime::block_on as run;
use mirage_testkit::tmp::TempDir;
use mirage_unix::{SocketStack, SystemClock};

/// Who commits on the remote side.
const REMOTE: Git = Git::new("Remote", "remote@example.org");

/// Runs git as [`REMOTE`]; its output, trimmed.
fn git(dir: &std::path::Path, args: &[&str]) -> String {
    REMOTE.run(dir, args).trim().to_owned()
}

fn info(msg: &str) -> Info {
    Info::new(Author::new("Us", "us@example.org"), msg)
}

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn oid(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex.as_bytes()).unwrap()
}

#[test]
fn clone_pull_and_push_with_git_daemon() {
    if !mirage_testkit::git::available("clone_pull_and_push_with_git_daemon") {
        return;
    }
    let dir = TempDir::new("daemon");
    let tmp = dir.path();
    // The remote: a bare repository with two commits on main, and a work
    // tree to make more.
    let origin = Remote::create(tmp, REMOTE);
    let (remote, work) = (&origin.bare, &origin.work);
    std::fs::write(work.join("a.txt"), "one\n").unwrap();
    git(work, &["add", "."]);
    git(work, &["commit", "-q", "-m", "one"]);
    std::fs::write(work.join("b.txt"), "two\n").unwrap();
    origin.commit_and_push("two");
    let d = GitDaemon::start_with(
        tmp,
        DaemonOptions {
            receive_pack: true,
            ..DaemonOptions::default()
        },
    );
    let url = Url::parse(&format!("git://127.0.0.1:{}/site.git", d.port)).unwrap();

    let local = tmp.join("local.git");
    let repo = Repo::new(
        FsBackend::init(&local, HashKind::Sha1, FsOptions::default()).unwrap(),
        SystemClock::new(),
    );
    run(async {
        let stack = SocketStack::new();
        // Clone: every object, the branch, and HEAD.
        repo.clone_from(&stack, &url).await.expect("clone");
        let main = repo.branch("main").unwrap();
        assert_eq!(
            main.head().await.unwrap(),
            Some(oid(&git(work, &["rev-parse", "HEAD"])))
        );
        assert_eq!(&main.get(&key("b.txt")).await.unwrap()[..], b"two\n");

        // The remote moves on: a fast-forward pull follows it.
        std::fs::write(work.join("c.txt"), "three\n").unwrap();
        origin.commit_and_push("three");
        let pulled = repo
            .pull(&stack, &url, "main", PullMode::FastForward, info("pull"))
            .await
            .expect("pull");
        let remote_head = oid(&git(work, &["rev-parse", "HEAD"]));
        assert!(
            matches!(pulled, Pulled::Moved { to, .. } if to == remote_head),
            "{pulled:?}"
        );
        assert_eq!(&main.get(&key("c.txt")).await.unwrap()[..], b"three\n");
        let again = repo
            .pull(&stack, &url, "main", PullMode::FastForward, info("pull"))
            .await
            .unwrap();
        assert_eq!(again, Pulled::UpToDate(remote_head));

        // We commit, they commit: fast-forward only is refused and changes
        // nothing; a merge joins both.
        main.set(
            &key("ours.txt"),
            Bytes::from_static(b"ours\n"),
            info("ours"),
        )
        .await
        .unwrap();
        let ours = main.head().await.unwrap().unwrap();
        std::fs::write(work.join("theirs.txt"), "theirs\n").unwrap();
        origin.commit_and_push("theirs");
        let refused = repo
            .pull(&stack, &url, "main", PullMode::FastForward, info("pull"))
            .await;
        assert!(
            matches!(refused, Err(SyncError::Diverged { .. })),
            "{refused:?}"
        );
        assert_eq!(
            main.head().await.unwrap(),
            Some(ours),
            "a refused pull changes nothing"
        );

        // Pushing now would drop their commit: refused, remote unchanged.
        let theirs = git(work, &["rev-parse", "HEAD"]);
        let push = repo.push(&stack, &url, "main", false).await;
        assert!(
            matches!(push, Err(SyncError::NotFastForward { .. })),
            "{push:?}"
        );
        assert_eq!(git(remote, &["rev-parse", "main"]), theirs);

        let merged = repo
            .pull(&stack, &url, "main", PullMode::Merge, info("merge"))
            .await
            .expect("merge pull");
        assert!(matches!(merged, Pulled::Merged(_)), "{merged:?}");
        assert_eq!(&main.get(&key("ours.txt")).await.unwrap()[..], b"ours\n");
        assert_eq!(
            &main.get(&key("theirs.txt")).await.unwrap()[..],
            b"theirs\n"
        );

        // Now the push is a fast-forward and git sees our merge.
        let pushed = repo.push(&stack, &url, "main", false).await.expect("push");
        assert_eq!(pushed.updated.len(), 1);
        let head = main.head().await.unwrap().unwrap();
        assert_eq!(git(remote, &["rev-parse", "main"]), head.to_string());
        git(remote, &["fsck", "--strict"]);
        git(
            work,
            &["pull", "-q", "--ff-only", remote.to_str().unwrap(), "main"],
        );
        assert_eq!(
            std::fs::read_to_string(work.join("ours.txt")).unwrap(),
            "ours\n"
        );

        // Someone rewrites the remote's history: mirror mode follows it.
        git(work, &["reset", "-q", "--hard", "HEAD~3"]);
        git(
            work,
            &["push", "-q", "--force", remote.to_str().unwrap(), "main"],
        );
        let rewritten = oid(&git(work, &["rev-parse", "HEAD"]));
        let mirrored = repo
            .pull(&stack, &url, "main", PullMode::Mirror, info("mirror"))
            .await
            .unwrap();
        assert_eq!(
            mirrored,
            Pulled::Moved {
                from: Some(head),
                to: rewritten
            }
        );
        assert!(main.get(&key("ours.txt")).await.is_err());

        // Fetch of a branch that does not exist is an error, not a silent no-op.
        let missing = repo
            .pull(&stack, &url, "nope", PullMode::FastForward, info("pull"))
            .await;
        assert!(
            matches!(missing, Err(SyncError::NoSuchBranch { .. })),
            "{missing:?}"
        );
    });
    git(&local, &["fsck", "--strict"]);
    drop(d);
    drop(dir);
}
