//! Concurrent writers lose nothing: two threads on one in-memory backend,
//! two threads and two processes on one `.git` directory, each committing in
//! a loop; and a writer killed with SIGKILL mid-commit leaves a repository
//! `git fsck --strict` accepts, holding every commit it acknowledged.
//!
//! The writer processes are this test binary run again on the ignored test
//! `writer_process`, configured through environment variables.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{SystemClock, TempDir, fsck, have_git, key};
use futures::executor::block_on;
use mirage_core::Key;
use mirage_irmin::{Backend, FsBackend, FsOptions, HashKind, MemBackend, Repo};

const ENV_REPO: &str = "MIRAGE_IRMIN_TEST_REPO";
const ENV_WRITER: &str = "MIRAGE_IRMIN_TEST_WRITER";
const ENV_COUNT: &str = "MIRAGE_IRMIN_TEST_COUNT";
const ENV_START: &str = "MIRAGE_IRMIN_TEST_START";

/// Commits `count` values `w<writer>/<i>` to `main`, one commit each.
fn write_loop<B: Backend>(
    repo: &Repo<B, SystemClock>,
    writer: &str,
    count: usize,
    mut ack: impl FnMut(usize),
) {
    let main = repo.branch("main").unwrap();
    for i in 0..count {
        let k = Key::parse(&format!("w{writer}/{i}")).unwrap();
        block_on(main.set(
            &k,
            format!("{writer}:{i}"),
            repo.info(format!("writer {writer} commit {i}")),
        ))
        .unwrap();
        ack(i);
    }
}

/// Checks `main` holds `count` values from each writer and one commit per value.
fn check_all_there<B: Backend>(repo: &Repo<B, SystemClock>, writers: &[&str], count: usize) {
    let main = repo.branch("main").unwrap();
    for w in writers {
        let listed = block_on(main.list(&key(&format!("w{w}")))).unwrap();
        assert_eq!(listed.len(), count, "writer {w} lost values");
        for i in 0..count {
            assert_eq!(
                block_on(main.get(&key(&format!("w{w}/{i}")))).unwrap(),
                format!("{w}:{i}")
            );
        }
    }
    let head = block_on(main.head()).unwrap().unwrap();
    assert_eq!(
        repo.ancestors(head).unwrap().len(),
        writers.len() * count,
        "one commit per value"
    );
}

/// How often the writer changes along the history of `main`: 1 when the
/// writers ran one after the other, more when their commits interleaved.
fn writer_switches<B: Backend>(repo: &Repo<B, SystemClock>) -> usize {
    let mut id = block_on(repo.branch("main").unwrap().head()).unwrap();
    let mut last = None;
    let mut switches = 0;
    while let Some(c) = id {
        let info = repo.commit(&c).unwrap();
        let writer = info.message.split_whitespace().nth(1).map(str::to_owned);
        if last.is_some() && writer != last {
            switches += 1;
        }
        last = writer;
        id = info.parents.first().copied();
    }
    switches
}

#[test]
fn two_threads_on_one_memory_backend_lose_nothing() {
    let backend = Arc::new(MemBackend::default());
    let start = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = ["0", "1"]
        .into_iter()
        .map(|w| {
            let (backend, start) = (backend.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                write_loop(&Repo::new(backend, SystemClock), w, 200, |_| {})
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let repo = Repo::new(backend, SystemClock);
    check_all_there(&repo, &["0", "1"], 200);
    assert!(writer_switches(&repo) > 1, "the writers did not overlap");
}

#[test]
fn two_threads_on_one_git_directory_lose_nothing() {
    let tmp = TempDir::new("threads");
    let dir = tmp.path().join("r.git");
    FsBackend::init(&dir, HashKind::Sha1, FsOptions::default()).unwrap();
    let threads: Vec<_> = ["0", "1"]
        .into_iter()
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                write_loop(
                    &Repo::new(FsBackend::open(&dir).unwrap(), SystemClock),
                    w,
                    60,
                    |_| {},
                )
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    check_all_there(
        &Repo::new(FsBackend::open(&dir).unwrap(), SystemClock),
        &["0", "1"],
        60,
    );
    if have_git("two_threads_on_one_git_directory_lose_nothing (fsck part)") {
        fsck(&dir);
    }
}

fn spawn_writer(dir: &Path, writer: &str, count: usize) -> std::process::Child {
    spawn_writer_after(dir, writer, count, None)
}

/// A writer process that waits for the file `start` to exist before writing.
fn spawn_writer_after(
    dir: &Path,
    writer: &str,
    count: usize,
    start: Option<&Path>,
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .env(
            ENV_START,
            start.map(|p| p.as_os_str().to_owned()).unwrap_or_default(),
        )
        .args([
            "writer_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_REPO, dir)
        .env(ENV_WRITER, writer)
        .env(ENV_COUNT, count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The writer process: commits and prints `ack <i>` once each commit is in.
#[test]
#[ignore = "run as a child process by the tests in this file"]
fn writer_process() {
    let (Ok(dir), Ok(writer), Ok(count)) = (
        std::env::var(ENV_REPO),
        std::env::var(ENV_WRITER),
        std::env::var(ENV_COUNT),
    ) else {
        println!("SKIP: writer_process only runs as a child of the concurrency tests");
        return;
    };
    if let Some(start) = std::env::var_os(ENV_START).filter(|s| !s.is_empty()) {
        while !Path::new(&start).exists() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let repo = Repo::new(FsBackend::open(&dir).unwrap(), SystemClock);
    write_loop(&repo, &writer, count.parse().unwrap(), |i| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // The leading newline keeps the line apart from the test harness's
        // own "test writer_process ... " prefix. A parent that stopped
        // listening does not stop the writer.
        let _ = write!(out, "\nack {i}\n");
        let _ = out.flush();
    });
}

fn acks(child: &mut std::process::Child, mut until: impl FnMut(usize) -> bool) -> Vec<usize> {
    let mut acked = Vec::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(n) = line.trim().strip_prefix("ack ") {
            acked.push(n.parse().unwrap());
            if until(acked.len()) {
                break;
            }
        }
    }
    acked
}

#[test]
fn two_processes_on_one_git_directory_lose_nothing() {
    let tmp = TempDir::new("processes");
    let dir = tmp.path().join("r.git");
    FsBackend::init(&dir, HashKind::Sha1, FsOptions::default()).unwrap();
    let mut children = [spawn_writer(&dir, "0", 60), spawn_writer(&dir, "1", 60)];
    for c in &mut children {
        assert_eq!(acks(c, |_| false).len(), 60);
        assert!(c.wait().unwrap().success());
    }
    check_all_there(
        &Repo::new(FsBackend::open(&dir).unwrap(), SystemClock),
        &["0", "1"],
        60,
    );
    if have_git("two_processes_on_one_git_directory_lose_nothing (fsck part)") {
        fsck(&dir);
    }
}

/// How many objects `git fsck` finds unreachable (written by an unfinished commit).
fn unreachable_objects(git_dir: &Path) -> usize {
    let out = common::GIT
        .command(
            git_dir,
            &[
                "--git-dir",
                git_dir.to_str().unwrap(),
                "fsck",
                "--unreachable",
                "--no-reflogs",
            ],
        )
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("unreachable "))
        .count()
}

#[test]
fn a_writer_killed_mid_commit_leaves_a_valid_repository() {
    if !have_git("a_writer_killed_mid_commit_leaves_a_valid_repository") {
        return;
    }
    let tmp = TempDir::new("crash");
    let dir = tmp.path().join("r.git");
    FsBackend::init(&dir, HashKind::Sha1, FsOptions::default()).unwrap();
    let mut all_acked = Vec::new();
    let mut mid_commit_kills = 0;
    let mut round = 0usize;
    // At least three kills, and at least one that provably hit a commit
    // half-way (its objects written, its branch update not yet done).
    while round < 3 || (mid_commit_kills == 0 && round < 12) {
        let writer = format!("{round}");
        let stop_after = 5 + (round * 17) % 31;
        let before = unreachable_objects(&dir);
        let mut child = spawn_writer(&dir, &writer, 1_000_000);
        let acked = acks(&mut child, |n| n >= stop_after);
        // The child is busy with its next commit: kill it with SIGKILL, at a
        // different moment of that commit each round.
        std::thread::sleep(std::time::Duration::from_micros(
            (round as u64 * 397) % 2500,
        ));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(acked.len(), stop_after);
        // A lock file left behind by the dead writer blocks the branch, as in
        // git; the next writer (here: the test) removes it.
        let _ = std::fs::remove_file(dir.join("refs/heads/main.lock"));
        fsck(&dir);
        let after = unreachable_objects(&dir);
        if after > before {
            mid_commit_kills += 1;
        }
        let repo = Repo::new(FsBackend::open(&dir).unwrap(), SystemClock);
        let main = repo.branch("main").unwrap();
        for i in &acked {
            assert_eq!(
                block_on(main.get(&key(&format!("w{writer}/{i}")))).unwrap(),
                format!("{writer}:{i}")
            );
        }
        all_acked.extend(acked.into_iter().map(|i| (writer.clone(), i)));
        for (w, i) in &all_acked {
            assert!(
                block_on(main.find(&key(&format!("w{w}/{i}"))))
                    .unwrap()
                    .is_some(),
                "w{w}/{i} lost"
            );
        }
        round += 1;
    }
    assert!(
        mid_commit_kills > 0,
        "no kill landed inside a commit in {round} rounds"
    );
    // Collecting afterwards keeps every acknowledged value.
    let repo = Repo::new(FsBackend::open(&dir).unwrap(), SystemClock);
    repo.backend().gc().unwrap();
    fsck(&dir);
    let main = repo.branch("main").unwrap();
    for (w, i) in &all_acked {
        assert!(
            block_on(main.find(&key(&format!("w{w}/{i}"))))
                .unwrap()
                .is_some(),
            "w{w}/{i} lost by gc"
        );
    }
}

#[test]
fn gc_while_another_thread_commits_loses_nothing() {
    let tmp = TempDir::new("gc-race");
    let dir = tmp.path().join("r.git");
    FsBackend::init(&dir, HashKind::Sha1, FsOptions::default()).unwrap();
    let writer = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            write_loop(
                &Repo::new(FsBackend::open(&dir).unwrap(), SystemClock),
                "0",
                80,
                |_| {},
            )
        })
    };
    let collector = FsBackend::open(&dir).unwrap();
    let mut packs = 0;
    while !writer.is_finished() {
        if collector.gc().unwrap().pack.is_some() {
            packs += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    writer.join().unwrap();
    collector.gc().unwrap();
    assert!(packs > 0, "gc ran while the writer was busy");
    check_all_there(
        &Repo::new(FsBackend::open(&dir).unwrap(), SystemClock),
        &["0"],
        80,
    );
    if have_git("gc_while_another_thread_commits_loses_nothing (fsck part)") {
        fsck(&dir);
    }
}
