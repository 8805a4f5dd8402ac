//! Interoperability with the `git` command line, both ways: repositories we
//! write pass `git fsck --strict` and show exactly our commits; repositories
//! git writes (packs with deltas, packed-refs, annotated tags) read back with
//! identical trees and histories.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{SystemClock, TempDir, fsck, git, have_git, key};
use futures::executor::block_on;
use mirage_core::{EntryKind, Key};
use mirage_irmin::{
    Author, Backend, FsBackend, FsOptions, HashKind, Info, Merges, ObjectId, Repo, Store,
};
use mirage_testkit::process;

type FsRepo = Repo<FsBackend, SystemClock>;

/// Every value below the root of `store`, as git's `ls-tree -r` would list it: path -> blob id.
fn walk(store: &Store<FsBackend, SystemClock>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![Key::root()];
    while let Some(dir) = todo.pop() {
        for (name, kind) in block_on(store.list(&dir)).unwrap() {
            let k = dir.join(name).unwrap();
            match kind {
                EntryKind::Dictionary => todo.push(k),
                EntryKind::Value => {
                    let id = block_on(store.entry(&k)).unwrap().unwrap().id;
                    out.insert(
                        k.to_string().trim_start_matches('/').to_owned(),
                        id.to_string(),
                    );
                }
            }
        }
    }
    out
}

fn ls_tree(git_dir: &Path, rev: &str) -> BTreeMap<String, String> {
    git(
        git_dir,
        &["--git-dir", git_dir.to_str().unwrap(), "ls-tree", "-r", rev],
    )
    .lines()
    .map(|l| {
        let (meta, path) = l.split_once('\t').unwrap();
        let id = meta.split_whitespace().nth(2).unwrap();
        (path.to_owned(), id.to_owned())
    })
    .collect()
}

fn oid(s: &str) -> ObjectId {
    ObjectId::from_hex(s.trim().as_bytes()).unwrap()
}

#[test]
fn a_repository_we_write_is_one_git_accepts() {
    if !have_git("a_repository_we_write_is_one_git_accepts") {
        return;
    }
    let tmp = TempDir::new("we-write");
    let git_dir = tmp.path().join("repo.git");
    let gd = git_dir.to_str().unwrap().to_owned();
    let backend = FsBackend::init(&git_dir, HashKind::Sha1, FsOptions::default()).unwrap();
    let alice = Author::new("Alice Example", "alice@example.org");
    let repo: FsRepo = Repo::with_author(backend, SystemClock, alice.clone());
    let main = repo.branch("main").unwrap();
    let info = |m: &str| Info::new(alice.clone(), m);

    block_on(async {
        main.set(&key("README"), "hello\n", info("add README"))
            .await
            .unwrap();
        let mut tx = main.transaction();
        tx.set(key("src/lib.rs"), "fn main() {}\n")
            .set(key("src/deep/er/file.txt"), vec![0u8, 1, 2, 255])
            .set(key("docs/a.md"), "# A\n");
        tx.commit(info("three files in one commit")).await.unwrap();
        main.remove(&key("docs"), info("drop docs")).await.unwrap();

        let feature = repo.branch("feature").unwrap();
        feature
            .merge_from(&main, &Merges::new(), info("start feature"))
            .await
            .unwrap();
        feature
            .set(&key("feature.txt"), "new\n", info("feature work"))
            .await
            .unwrap();
        main.set(&key("README"), "hello again\n", info("edit README"))
            .await
            .unwrap();
        main.merge_from(&feature, &Merges::new(), info("merge feature"))
            .await
            .unwrap();
    });
    let head = block_on(main.head()).unwrap().unwrap();
    repo.tag("v1", head, Some("release one")).unwrap();
    repo.tag("light", head, None).unwrap();

    fsck(&git_dir);
    let check = |repo: &FsRepo| {
        let main = repo.branch("main").unwrap();
        // The same commits, the same contents.
        let ours: BTreeSet<ObjectId> = repo.ancestors(head).unwrap().into_iter().collect();
        let theirs: BTreeSet<ObjectId> = git(&git_dir, &["--git-dir", &gd, "rev-list", "main"])
            .lines()
            .map(oid)
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 6);
        assert_eq!(walk(&main), ls_tree(&git_dir, "main"));
        assert_eq!(
            git(
                &git_dir,
                &["--git-dir", &gd, "cat-file", "-p", "main:README"]
            ),
            "hello again\n"
        );
        assert_eq!(
            common::GIT.bytes(
                &git_dir,
                &[
                    "--git-dir",
                    &gd,
                    "cat-file",
                    "-p",
                    "main:src/deep/er/file.txt"
                ]
            ),
            vec![0u8, 1, 2, 255]
        );
        let shown = git(
            &git_dir,
            &[
                "--git-dir",
                &gd,
                "show",
                "-s",
                "--format=%an|%ae|%s|%P",
                "main",
            ],
        );
        let c = repo.commit(&head).unwrap();
        let parents: Vec<String> = c.parents.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown.trim(),
            format!(
                "Alice Example|alice@example.org|merge feature|{}",
                parents.join(" ")
            )
        );
        assert_eq!(
            git(
                &git_dir,
                &[
                    "--git-dir",
                    &gd,
                    "log",
                    "--format=%s",
                    "-1",
                    "main",
                    "--",
                    "docs"
                ]
            )
            .trim(),
            "drop docs"
        );
        // Our history of a path is git's.
        let git_hist: Vec<ObjectId> = git(
            &git_dir,
            &[
                "--git-dir",
                &gd,
                "log",
                "--format=%H",
                "main",
                "--",
                "README",
            ],
        )
        .lines()
        .map(oid)
        .collect();
        let our_hist: BTreeSet<ObjectId> = block_on(main.history_ids(&key("README")))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(our_hist, git_hist.iter().copied().collect());
        assert_eq!(
            git(&git_dir, &["--git-dir", &gd, "cat-file", "-t", "v1"]).trim(),
            "tag"
        );
        assert_eq!(
            oid(&git(
                &git_dir,
                &["--git-dir", &gd, "rev-parse", "v1^{commit}"]
            )),
            head
        );
        assert_eq!(
            oid(&git(&git_dir, &["--git-dir", &gd, "rev-parse", "light"])),
            head
        );
    };
    check(&repo);

    // After gc everything is packed, git still agrees, and a fresh reader finds it all.
    let outcome = repo.backend().gc().unwrap();
    assert!(outcome.packed >= 6 * 2, "{outcome:?}");
    assert_eq!(outcome.removed_loose, outcome.packed);
    // main, feature, v1, light: all in packed-refs now, the annotated tag peeled.
    assert_eq!(outcome.packed_refs, 4, "{outcome:?}");
    assert!(!git_dir.join("refs/heads/main").exists());
    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).unwrap();
    assert!(packed.contains(&format!("^{head}\n")), "{packed}");
    fsck(&git_dir);
    assert_eq!(
        oid(&git(&git_dir, &["--git-dir", &gd, "rev-parse", "v1^{}"])),
        head
    );
    let counts = git(&git_dir, &["--git-dir", &gd, "count-objects", "-v"]);
    assert!(counts.lines().any(|l| l == "count: 0"), "{counts}");
    assert!(
        counts
            .lines()
            .any(|l| l.starts_with("in-pack: ") && l != "in-pack: 0"),
        "{counts}"
    );
    let reopened: FsRepo = Repo::new(FsBackend::open(&git_dir).unwrap(), SystemClock);
    check(&reopened);
    // Writing on top of a packed history works, and gc again only packs the new objects.
    let main = reopened.branch("main").unwrap();
    block_on(main.set(&key("after-gc"), "x", info("after gc"))).unwrap();
    let again = reopened.backend().gc().unwrap();
    assert_eq!(again.packed, 3, "{again:?}");
    fsck(&git_dir);
    // Deleting a branch that lives only in packed-refs.
    let feature = oid(&git(&git_dir, &["--git-dir", &gd, "rev-parse", "feature"]));
    reopened.remove_branch("feature", feature).unwrap();
    assert_eq!(reopened.branches().unwrap(), vec!["main".to_owned()]);
    let refs = git(&git_dir, &["--git-dir", &gd, "show-ref"]);
    assert!(!refs.contains("refs/heads/feature"), "{refs}");
    assert!(refs.contains("refs/tags/v1"), "{refs}");
    fsck(&git_dir);
}

#[test]
fn git_commits_on_top_of_ours_and_we_read_them() {
    if !have_git("git_commits_on_top_of_ours_and_we_read_them") {
        return;
    }
    let tmp = TempDir::new("git-on-top");
    let git_dir = tmp.path().join("repo.git");
    let repo: FsRepo = Repo::new(
        FsBackend::init(&git_dir, HashKind::Sha1, FsOptions::default()).unwrap(),
        SystemClock,
    );
    let main = repo.branch("main").unwrap();
    block_on(main.set(&key("a/b.txt"), "ours\n", repo.info("ours"))).unwrap();

    let work = tmp.path().join("work");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            git_dir.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    std::fs::write(work.join("a/b.txt"), "theirs\n").unwrap();
    std::fs::write(work.join("c.txt"), "new\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "by git"]);
    git(&work, &["push", "-q", "origin", "main"]);

    let head = oid(&git(&work, &["rev-parse", "HEAD"]));
    assert_eq!(block_on(main.head()).unwrap(), Some(head));
    assert_eq!(block_on(main.get(&key("a/b.txt"))).unwrap(), "theirs\n");
    assert_eq!(block_on(main.get(&key("c.txt"))).unwrap(), "new\n");
    let c = repo.commit(&head).unwrap();
    assert_eq!(c.message, "by git\n");
    assert_eq!(c.author.name, "Git User");
    // And we commit on top of git's commit.
    block_on(main.set(&key("d.txt"), "ours again\n", repo.info("ours again"))).unwrap();
    fsck(&git_dir);
    git(&work, &["pull", "-q", "--ff-only"]);
    assert_eq!(
        std::fs::read_to_string(work.join("d.txt")).unwrap(),
        "ours again\n"
    );
}

/// Commits everything in `work` at a fixed, increasing time.
fn commit_all(work: &Path, message: &str, t: u32) {
    git(work, &["add", "-A"]);
    let date = format!("{} +0000", 1_600_000_000 + t * 60);
    process::output(
        common::GIT
            .command(work, &["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date),
    );
}

fn tag_at(work: &Path, args: &[&str], t: u32) {
    let date = format!("{} +0000", 1_600_000_000 + t * 60);
    process::output(
        common::GIT
            .command(work, args)
            .env("GIT_COMMITTER_DATE", &date),
    );
}

/// A file of `lines` numbered lines with line `changed` altered: big, and
/// similar across versions, so `git gc --aggressive` stores deltas.
fn big_file(lines: usize, changed: usize, version: u32) -> String {
    (0..lines)
        .map(|i| {
            if i == changed {
                format!("line {i} changed in version {version}\n")
            } else {
                format!("line {i} of a long file that compresses and deltas well\n")
            }
        })
        .collect()
}

#[test]
fn a_repository_git_writes_reads_back_identically() {
    if !have_git("a_repository_git_writes_reads_back_identically") {
        return;
    }
    let tmp = TempDir::new("git-writes");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let mut t = 0;
    for v in 0..12u32 {
        std::fs::create_dir_all(work.join("dir/sub")).unwrap();
        std::fs::write(work.join("big.txt"), big_file(400, v as usize * 7, v)).unwrap();
        std::fs::write(
            work.join(format!("dir/file{}.txt", v % 4)),
            format!("version {v}\n"),
        )
        .unwrap();
        if v % 3 == 0 {
            std::fs::write(work.join("dir/sub/rare.txt"), format!("rare {v}\n")).unwrap();
        }
        if v == 5 {
            std::fs::remove_file(work.join("dir/file1.txt")).unwrap();
        }
        t += 1;
        commit_all(&work, &format!("commit {v}"), t);
        if v == 3 {
            tag_at(&work, &["tag", "-a", "-m", "annotated three", "v3"], t);
        }
        if v == 6 {
            tag_at(&work, &["tag", "light6"], t);
        }
    }
    // A side branch, merged back: a merge commit in history.
    git(&work, &["checkout", "-q", "-b", "side", "HEAD~4"]);
    std::fs::write(work.join("side.txt"), "side\n").unwrap();
    t += 1;
    commit_all(&work, "side work", t);
    git(&work, &["checkout", "-q", "main"]);
    std::fs::write(work.join("dir/file0.txt"), "main after fork\n").unwrap();
    t += 1;
    commit_all(&work, "main after fork", t);
    let date = format!("{} +0000", 1_600_000_000 + (t + 1) * 60);
    process::output(
        common::GIT
            .command(
                &work,
                &["merge", "-q", "--no-ff", "-m", "merge side", "side"],
            )
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date),
    );
    git(&work, &["gc", "-q", "--aggressive", "--prune=now"]);

    let gd = work.join(".git");
    assert!(gd.join("packed-refs").is_file(), "git gc packs refs");
    let loose = git(&work, &["count-objects", "-v"]);
    assert!(loose.lines().any(|l| l == "count: 0"), "{loose}");
    let pack = common::fsck_pack_list(&gd);
    let verify = git(&work, &["verify-pack", "-v", pack.to_str().unwrap()]);
    assert!(
        verify.contains("chain length = 1"),
        "the pack holds deltas:\n{verify}"
    );

    let repo: FsRepo = Repo::new(FsBackend::open(&work).unwrap(), SystemClock);
    for branch in ["main", "side"] {
        let store = repo.branch(branch).unwrap();
        let head = block_on(store.head()).unwrap().unwrap();
        assert_eq!(head, oid(&git(&work, &["rev-parse", branch])));
        assert_eq!(walk(&store), ls_tree(&gd, branch), "tree of {branch}");
        let ours: BTreeSet<ObjectId> = repo.ancestors(head).unwrap().into_iter().collect();
        let theirs: BTreeSet<ObjectId> =
            git(&work, &["rev-list", branch]).lines().map(oid).collect();
        assert_eq!(ours, theirs, "history of {branch}");
    }
    let main = repo.branch("main").unwrap();
    // Contents equal the work tree (delta-compressed big.txt included).
    for path in ["big.txt", "dir/file0.txt", "dir/sub/rare.txt", "side.txt"] {
        assert_eq!(
            block_on(main.get(&key(path))).unwrap(),
            std::fs::read(work.join(path)).unwrap(),
            "{path}"
        );
    }
    assert_eq!(
        block_on(main.find(&key("dir/file1.txt")))
            .unwrap()
            .map(|b| b.to_vec()),
        std::fs::read(work.join("dir/file1.txt")).ok()
    );
    // Histories of paths, in git log's order.
    for path in [
        "big.txt",
        "dir/file1.txt",
        "dir/sub/rare.txt",
        "side.txt",
        "dir",
    ] {
        let theirs: Vec<ObjectId> = git(&work, &["log", "--format=%H", "main", "--", path])
            .lines()
            .map(oid)
            .collect();
        let ours = block_on(main.history_ids(&key(path))).unwrap();
        assert_eq!(ours, theirs, "history of {path}");
    }
    let last = block_on(main.last_modified(&key("dir/sub/rare.txt")))
        .unwrap()
        .unwrap();
    assert_eq!(
        last.id,
        oid(&git(
            &work,
            &["log", "-1", "--format=%H", "--", "dir/sub/rare.txt"]
        ))
    );
    assert_eq!(
        last.time.secs,
        git(
            &work,
            &["log", "-1", "--format=%at", "--", "dir/sub/rare.txt"]
        )
        .trim()
        .parse::<i64>()
        .unwrap()
    );
    // Tags, annotated and lightweight, from packed-refs.
    let tags: BTreeMap<String, ObjectId> = repo.tags().unwrap().into_iter().collect();
    assert_eq!(tags.len(), 2);
    assert_eq!(tags["v3"], oid(&git(&work, &["rev-parse", "v3"])));
    assert_eq!(
        repo.peel(tags["v3"]).unwrap(),
        oid(&git(&work, &["rev-parse", "v3^{commit}"]))
    );
    assert_eq!(tags["light6"], oid(&git(&work, &["rev-parse", "light6"])));
    // Merge bases agree with git's.
    let a = oid(&git(&work, &["rev-parse", "main~1"]));
    let b = oid(&git(&work, &["rev-parse", "side"]));
    assert_eq!(
        repo.lca(a, b).unwrap(),
        vec![oid(&git(&work, &["merge-base", "main~1", "side"]))]
    );
    // Every object git has, we read with the id git gives it.
    let all = git(
        &work,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(objecttype) %(objectsize)",
        ],
    );
    for line in all.lines() {
        let mut parts = line.split(' ');
        let id = oid(parts.next().unwrap());
        let raw = repo.backend().read_object(&id).unwrap().unwrap();
        assert_eq!(raw.kind.to_string(), parts.next().unwrap());
        assert_eq!(raw.data.len().to_string(), parts.next().unwrap());
        assert_eq!(
            mirage_irmin::object::object_id(HashKind::Sha1, raw.kind, &raw.data).unwrap(),
            id
        );
    }
    // Diffs agree with `git diff --name-status`, across the merge too.
    for (from, to) in [("main~5", "main"), ("main~1", "side"), ("side", "main~3")] {
        let (a, b) = (
            oid(&git(&work, &["rev-parse", from])),
            oid(&git(&work, &["rev-parse", to])),
        );
        let ours: Vec<String> = repo
            .diff(Some(a), Some(b))
            .unwrap()
            .into_iter()
            .map(|c| {
                let status = match c {
                    mirage_irmin::Change::Added(..) => "A",
                    mirage_irmin::Change::Removed(..) => "D",
                    mirage_irmin::Change::Modified(..) => "M",
                };
                format!("{status}\t{}", c.path().to_string().trim_start_matches('/'))
            })
            .collect();
        let theirs: Vec<String> = git(&work, &["diff", "--no-renames", "--name-status", from, to])
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(ours, theirs, "diff {from} {to}");
    }
    // Writing into git's packed repository keeps it valid.
    block_on(main.set(&key("from-us.txt"), "hi\n", repo.info("from us"))).unwrap();
    fsck(&gd);
    assert_eq!(git(&work, &["show", "main:from-us.txt"]), "hi\n");
}

#[cfg(feature = "sha256")]
#[test]
fn sha256_repositories_both_ways() {
    if !have_git("sha256_repositories_both_ways") {
        return;
    }
    let tmp = TempDir::new("sha256");
    // git writes, we read.
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let init = common::GIT
        .command(
            &work,
            &["init", "-q", "-b", "main", "--object-format=sha256"],
        )
        .output()
        .unwrap();
    if !init.status.success() {
        println!(
            "SKIP: sha256_repositories_both_ways: this git cannot create SHA-256 repositories"
        );
        return;
    }
    for v in 0..5u32 {
        std::fs::write(work.join("big.txt"), big_file(300, v as usize * 11, v)).unwrap();
        std::fs::write(work.join(format!("f{v}.txt")), format!("{v}\n")).unwrap();
        commit_all(&work, &format!("c{v}"), v + 1);
    }
    tag_at(&work, &["tag", "-a", "-m", "sha256 tag", "t1"], 9);
    git(&work, &["gc", "-q", "--aggressive", "--prune=now"]);
    let gd = work.join(".git");
    let repo: FsRepo = Repo::new(FsBackend::open(&work).unwrap(), SystemClock);
    assert_eq!(repo.backend().object_hash(), HashKind::Sha256);
    let main = repo.branch("main").unwrap();
    assert_eq!(walk(&main), ls_tree(&gd, "main"));
    assert_eq!(
        block_on(main.get(&key("big.txt"))).unwrap(),
        std::fs::read(work.join("big.txt")).unwrap()
    );
    let hist = block_on(main.history_ids(&key("big.txt"))).unwrap();
    let theirs: Vec<ObjectId> = git(&work, &["log", "--format=%H", "--", "big.txt"])
        .lines()
        .map(oid)
        .collect();
    assert_eq!(hist, theirs);
    let tags = repo.tags().unwrap();
    assert_eq!(
        repo.peel(tags[0].1).unwrap(),
        oid(&git(&work, &["rev-parse", "t1^{commit}"]))
    );
    block_on(main.set(&key("ours.txt"), "ours\n", repo.info("ours"))).unwrap();
    fsck(&gd);

    // We write, git reads.
    let bare = tmp.path().join("ours.git");
    let repo: FsRepo = Repo::new(
        FsBackend::init(&bare, HashKind::Sha256, FsOptions::default()).unwrap(),
        SystemClock,
    );
    let main = repo.branch("main").unwrap();
    block_on(main.set(&key("a/b"), "sha256 content\n", repo.info("first"))).unwrap();
    block_on(main.set(&key("c"), "more\n", repo.info("second"))).unwrap();
    repo.backend().gc().unwrap();
    fsck(&bare);
    let bd = bare.to_str().unwrap();
    assert_eq!(
        git(&bare, &["--git-dir", bd, "cat-file", "-p", "main:a/b"]),
        "sha256 content\n"
    );
    assert_eq!(walk(&main), ls_tree(&bare, "main"));
    assert_eq!(
        git(&bare, &["--git-dir", bd, "rev-list", "--count", "main"]).trim(),
        "2"
    );
}

#[test]
fn watch_sees_commits_made_by_another_process() {
    use futures::StreamExt;
    use mirage_core::mem::Simulation;
    use std::time::Duration;

    if !have_git("watch_sees_commits_made_by_another_process") {
        return;
    }
    let tmp = TempDir::new("watch");
    let git_dir = tmp.path().join("repo.git");
    let mut sim = Simulation::new(3);
    let clock = sim.clock();
    let repo = Repo::new(
        FsBackend::init(&git_dir, HashKind::Sha1, FsOptions::default()).unwrap(),
        clock.clone(),
    );
    let main = repo.branch("main").unwrap();
    block_on(main.set(&key("a"), "1", repo.info("first"))).unwrap();
    let gd = git_dir.to_str().unwrap().to_owned();
    let (seen, made) = sim
        .block_on(async {
            let watched = main.watch(&clock, Duration::from_millis(250));
            let other = async {
                let mut made = Vec::new();
                for i in 0..2 {
                    mirage_core::Time::sleep(&clock, Duration::from_secs(1)).await;
                    // `git` commits on main behind our back.
                    let tree = git(&git_dir, &["--git-dir", &gd, "rev-parse", "main^{tree}"]);
                    let msg = format!("by git {i}");
                    let commit = git(
                        &git_dir,
                        &[
                            "--git-dir",
                            &gd,
                            "commit-tree",
                            tree.trim(),
                            "-p",
                            "main",
                            "-m",
                            &msg,
                        ],
                    );
                    git(
                        &git_dir,
                        &[
                            "--git-dir",
                            &gd,
                            "update-ref",
                            "refs/heads/main",
                            commit.trim(),
                        ],
                    );
                    made.push(oid(&commit));
                }
                made
            };
            let (seen, made) = futures::join!(watched.take(2).collect::<Vec<_>>(), other);
            (
                seen.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
                made,
            )
        })
        .unwrap();
    assert_eq!(seen, made);
}

#[test]
fn packs_from_git_import_including_thin_ones() {
    if !have_git("packs_from_git_import_including_thin_ones") {
        return;
    }
    let tmp = TempDir::new("import");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    for v in 0..6u32 {
        std::fs::write(work.join("big.txt"), big_file(300, v as usize * 13, v)).unwrap();
        std::fs::write(work.join(format!("f{v}")), format!("{v}\n")).unwrap();
        commit_all(&work, &format!("c{v}"), v + 1);
    }
    let pack_of = |revs: &str, thin: bool| -> Vec<u8> {
        let mut args = vec!["pack-objects", "--stdout", "--revs", "-q"];
        if thin {
            args.push("--thin");
        }
        let mut child = common::GIT
            .command(&work, &args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(revs.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let bare = tmp.path().join("ours.git");
    let backend = FsBackend::init(&bare, HashKind::Sha1, FsOptions::default()).unwrap();
    // The older history as a full pack, then the rest as a thin pack whose
    // deltas lean on objects of the first.
    let first = pack_of("main~3\n", false);
    backend.import_pack(&mut &first[..]).unwrap();
    let thin = pack_of("main\n^main~3\n", true);
    // Alone, the thin pack cannot be completed: it really leans on other objects.
    let empty = FsBackend::init(
        tmp.path().join("empty.git"),
        HashKind::Sha1,
        FsOptions::default(),
    )
    .unwrap();
    assert!(empty.import_pack(&mut &thin[..]).is_err());
    backend.import_pack(&mut &thin[..]).unwrap();
    let head = oid(&git(&work, &["rev-parse", "main"]));
    backend
        .update_ref(
            &mirage_irmin::RefName::branch("main").unwrap(),
            None,
            Some(head),
        )
        .unwrap();
    fsck(&bare);
    let repo: FsRepo = Repo::new(backend, SystemClock);
    let main = repo.branch("main").unwrap();
    assert_eq!(walk(&main), ls_tree(&work.join(".git"), "main"));
    assert_eq!(
        block_on(main.get(&key("big.txt"))).unwrap(),
        std::fs::read(work.join("big.txt")).unwrap()
    );
    assert_eq!(repo.ancestors(head).unwrap().len(), 6);
    // A damaged pack is refused and leaves nothing behind.
    let mut bad = first.clone();
    let n = bad.len();
    bad[n / 2] ^= 0xff;
    assert!(repo.backend().import_pack(&mut &bad[..]).is_err());
    fsck(&bare);
}

#[test]
fn damaged_packs_and_objects_are_errors_not_panics() {
    let tmp = TempDir::new("damaged");
    let backend = FsBackend::init(
        tmp.path().join("r.git"),
        HashKind::Sha1,
        FsOptions::default(),
    )
    .unwrap();
    let mut g = quickcheck::Gen::new(300);
    for _ in 0..200 {
        // A valid header, then random entries: never a panic, always refused
        // (the trailing checksum alone makes a random pack invalid).
        let mut pack = b"PACK\0\0\0\x02".to_vec();
        pack.extend_from_slice(&<Vec<u8> as quickcheck::Arbitrary>::arbitrary(&mut g));
        assert!(backend.import_pack(&mut &pack[..]).is_err());
    }
    // A damaged loose object and a damaged pack index read as errors.
    let repo: FsRepo = Repo::new(backend, SystemClock);
    let main = repo.branch("main").unwrap();
    let c = block_on(main.set(&key("a"), "x", repo.info("x")))
        .unwrap()
        .unwrap();
    let git_dir = tmp.path().join("r.git");
    let loose = mirage_irmin::backend::fs::loose::path_of(&git_dir.join("objects"), &c);
    let mut perms = std::fs::metadata(&loose).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&loose, perms).unwrap();
    std::fs::write(&loose, b"not zlib at all").unwrap();
    let fresh: FsRepo = Repo::new(FsBackend::open(&git_dir).unwrap(), SystemClock);
    assert!(matches!(
        block_on(fresh.branch("main").unwrap().get(&key("a"))),
        Err(mirage_irmin::StoreError::Backend(
            mirage_irmin::BackendError::CorruptLoose { .. }
        ))
    ));
    std::fs::write(
        git_dir.join("objects/pack/pack-0000000000000000000000000000000000000000.idx"),
        b"garbage",
    )
    .unwrap();
    std::fs::write(
        git_dir.join("objects/pack/pack-0000000000000000000000000000000000000000.pack"),
        b"garbage",
    )
    .unwrap();
    let fresh = FsBackend::open(&git_dir).unwrap();
    assert!(matches!(
        fresh.read_object(&ObjectId::null(HashKind::Sha1)),
        Err(mirage_irmin::BackendError::Pack { .. })
    ));
}

#[test]
fn objects_borrowed_through_alternates_are_read() {
    if !have_git("objects_borrowed_through_alternates_are_read") {
        return;
    }
    let tmp = TempDir::new("alternates");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    git(&src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("shared.txt"), "borrowed\n").unwrap();
    commit_all(&src, "in src", 1);
    git(&src, &["gc", "-q"]);
    let dst = tmp.path().join("dst");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--shared",
            src.to_str().unwrap(),
            dst.to_str().unwrap(),
        ],
    );
    assert!(dst.join(".git/objects/info/alternates").is_file());
    let repo: FsRepo = Repo::new(FsBackend::open(&dst).unwrap(), SystemClock);
    let main = repo.branch("main").unwrap();
    assert_eq!(
        block_on(main.get(&key("shared.txt"))).unwrap(),
        "borrowed\n"
    );
    // Our commits go into the borrowing repository only; git accepts it.
    block_on(main.set(&key("own.txt"), "own\n", repo.info("own"))).unwrap();
    repo.backend().gc().unwrap();
    fsck(&dst.join(".git"));
    let src_count = git(&src, &["count-objects", "-v"]);
    assert!(src_count.contains("count: 0"), "{src_count}");
    assert_eq!(git(&dst, &["show", "main:own.txt"]), "own\n");
}
