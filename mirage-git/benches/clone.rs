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

const ROUNDS: u32 = 5;

fn main() {
    if !have_git("clone benchmark") {
        return;
    }
    let tmp = TempDir::new("bench");
    let repo = make_big_repo(&tmp.0);
    let objects = all_objects(&repo).len();
    let daemon = Daemon::start(&tmp.0);
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

/// A repository of 300 commits over 60 files with deltas.
fn make_big_repo(base: &std::path::Path) -> std::path::PathBuf {
    let work = base.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    for round in 0..300 {
        for f in 0..3 {
            let name = format!("dir{}/file{}.txt", (round + f) % 6, (round * 7 + f) % 10);
            let path = work.join(&name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            text.push_str(&format!(
                "round {round} changes {name} with some words to compress\n"
            ));
            std::fs::write(&path, text).unwrap();
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", &format!("commit {round}")]);
    }
    let repo = base.join("repo.git");
    git(
        base,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    );
    git(&repo, &["gc", "-q", "--aggressive", "--prune=now"]);
    repo
}
