//! Clone throughput beside `git clone`: both fetch the same repository from
//! the same `git daemon` on 127.0.0.1; prints the times and their ratio.
//! Run with `cargo bench -p mirage-git`; prints `SKIP:` without `git`.

#[allow(dead_code)]
#[path = "../tests/git/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use mirage_git::{Client, MemStore, Url};
use mirage_unix::SocketStack;

const ROUNDS: u32 = 3;

fn main() {
    if !have_git("clone benchmark") {
        return;
    }
    let tmp = TempDir::new("bench");
    let repo = make_big_repo(&tmp.0);
    let objects = all_objects(&repo).len();
    let daemon = daemon(&tmp.0);
    let url = format!("git://127.0.0.1:{}/repo.git", daemon.port);

    let mut git_time = Duration::ZERO;
    for i in 0..ROUNDS {
        let dest = tmp.0.join(format!("clone{i}.git"));
        let start = Instant::now();
        git(
            &tmp.0,
            &["clone", "-q", "--bare", &url, dest.to_str().unwrap()],
        );
        git_time += start.elapsed();
    }

    let parsed = Url::parse(&url).unwrap();
    let stack = SocketStack::new();
    let mut ours = Duration::ZERO;
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let store = MemStore::new();
        let start = Instant::now();
        let outcome = run(Client::new(&stack).clone(&parsed, &store, &mut |_| {})).unwrap();
        ours += start.elapsed();
        assert_eq!(outcome.objects, objects);
        bytes = outcome.pack_bytes;
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(ROUNDS);
    println!("clone of {objects} objects, pack of {bytes} bytes, {ROUNDS} rounds each");
    println!("git clone --bare:  {:8.1} ms per clone", per(git_time));
    println!(
        "mirage-git clone:  {:8.1} ms per clone (into memory)",
        per(ours)
    );
    println!(
        "ratio mirage-git / git: {:.2}",
        ours.as_secs_f64() / git_time.as_secs_f64()
    );
}

/// A repository of 10 000 files and 1 000 commits (the first adds every
/// file, each later one edits ten), written with `git fast-import` and
/// repacked with deltas.
fn make_big_repo(base: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const FILES: usize = 10_000;
    const COMMITS: usize = 1_000;
    let repo = base.join("repo.git");
    git(
        base,
        &["init", "-q", "--bare", "-b", "main", repo.to_str().unwrap()],
    );
    let mut stream = Vec::new();
    let mut contents: Vec<String> = (0..FILES)
        .map(|f| format!("file {f}\nsome words to compress and to delta against\n"))
        .collect();
    for c in 0..COMMITS {
        let msg = format!("commit {c}");
        writeln!(stream, "commit refs/heads/main").unwrap();
        writeln!(
            stream,
            "committer Bench <bench@example.org> {} +0000",
            1_700_000_000 + c
        )
        .unwrap();
        writeln!(stream, "data {}\n{msg}", msg.len()).unwrap();
        let touched: Vec<usize> = if c == 0 {
            (0..FILES).collect()
        } else {
            (0..10).map(|k| (c * 7919 + k * 1013) % FILES).collect()
        };
        for f in touched {
            if c > 0 {
                contents[f].push_str(&format!("edited in commit {c}\n"));
            }
            let data = &contents[f];
            writeln!(stream, "M 100644 inline dir{}/file{f}.txt", f % 100).unwrap();
            writeln!(stream, "data {}\n{data}", data.len()).unwrap();
        }
        writeln!(stream).unwrap();
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    git(&repo, &["gc", "-q", "--prune=now"]);
    repo
}
