//! Benchmark: a 10,000-file tree (100 directories of 100 files), then
//! single-file commits and random reads, in mirage-irmin (on disk and in
//! memory), libgit2 (git2) and the git command line (plumbing commands for
//! commits, one `git cat-file --batch` process for reads).
//!
//! Usage: `mirage-irmin-bench [commits] [reads] [runs]` (defaults 1000,
//! 20000 and 3; the git command line makes at most 200 commits a run).
//! Prints the median and spread of operations per second over the runs and
//! one `ours / peer = ratio` line per comparison.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use mirage_core::{Key, PosixTime, WallClock};
use mirage_irmin::{Backend, FsBackend, FsOptions, HashKind, MemBackend, Op, Repo};

const DIRS: usize = 100;
const FILES: usize = 100;

#[derive(Clone, Copy)]
struct SystemClock;

impl WallClock for SystemClock {
    fn now_posix(&self) -> PosixTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        PosixTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
}

/// A small deterministic generator, so every contender does the same work.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }

    fn path(&mut self) -> (usize, usize) {
        (self.next() % DIRS, self.next() % FILES)
    }
}

fn path(d: usize, f: usize) -> String {
    format!("d{d:03}/f{f:03}.txt")
}

fn content(d: usize, f: usize, version: usize) -> String {
    format!(
        "file {d}/{f}, version {version}\n{}\n",
        "some payload text ".repeat(8)
    )
}

struct Result {
    name: &'static str,
    import: Duration,
    commits_per_s: f64,
    reads_per_s: f64,
}

fn irmin<B: Backend>(name: &'static str, backend: B, commits: usize, reads: usize) -> Result {
    let repo = Repo::new(backend, SystemClock);
    let main = repo.branch("main").unwrap();
    let start = Instant::now();
    let ops: Vec<Op> = (0..DIRS)
        .flat_map(|d| {
            (0..FILES)
                .map(move |f| Op::Set(Key::parse(&path(d, f)).unwrap(), content(d, f, 0).into()))
        })
        .collect();
    block_on(main.apply(&ops, &repo.info("import"))).unwrap();
    let import = start.elapsed();

    let mut rng = Lcg(1);
    let start = Instant::now();
    for i in 0..commits {
        let (d, f) = rng.path();
        block_on(main.set(
            &Key::parse(&path(d, f)).unwrap(),
            content(d, f, i + 1),
            repo.info("edit"),
        ))
        .unwrap();
    }
    let commit_time = start.elapsed();

    let mut rng = Lcg(2);
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..reads {
        let (d, f) = rng.path();
        bytes += block_on(main.get(&Key::parse(&path(d, f)).unwrap()))
            .unwrap()
            .len();
    }
    let read_time = start.elapsed();
    assert!(bytes > 0);
    Result {
        name,
        import,
        commits_per_s: commits as f64 / commit_time.as_secs_f64(),
        reads_per_s: reads as f64 / read_time.as_secs_f64(),
    }
}

fn libgit2(dir: &Path, commits: usize, reads: usize) -> Result {
    let repo = git2::Repository::init_bare(dir).unwrap();
    let sig = git2::Signature::now("bench", "bench@localhost").unwrap();
    let start = Instant::now();
    let mut root = repo.treebuilder(None).unwrap();
    for d in 0..DIRS {
        let mut dir = repo.treebuilder(None).unwrap();
        for f in 0..FILES {
            let blob = repo.blob(content(d, f, 0).as_bytes()).unwrap();
            dir.insert(format!("f{f:03}.txt"), blob, 0o100644).unwrap();
        }
        root.insert(format!("d{d:03}"), dir.write().unwrap(), 0o040000)
            .unwrap();
    }
    let tree = repo.find_tree(root.write().unwrap()).unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "import", &tree, &[])
        .unwrap();
    let import = start.elapsed();

    let mut rng = Lcg(1);
    let start = Instant::now();
    for i in 0..commits {
        let (d, f) = rng.path();
        let parent = repo
            .find_reference("refs/heads/main")
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let root = parent.tree().unwrap();
        let dir_name = format!("d{d:03}");
        let dir_tree = repo
            .find_tree(root.get_name(&dir_name).unwrap().id())
            .unwrap();
        let blob = repo.blob(content(d, f, i + 1).as_bytes()).unwrap();
        let mut dir = repo.treebuilder(Some(&dir_tree)).unwrap();
        dir.insert(format!("f{f:03}.txt"), blob, 0o100644).unwrap();
        let mut new_root = repo.treebuilder(Some(&root)).unwrap();
        new_root
            .insert(&dir_name, dir.write().unwrap(), 0o040000)
            .unwrap();
        let tree = repo.find_tree(new_root.write().unwrap()).unwrap();
        repo.commit(
            Some("refs/heads/main"),
            &sig,
            &sig,
            "edit",
            &tree,
            &[&parent],
        )
        .unwrap();
    }
    let commit_time = start.elapsed();

    let mut rng = Lcg(2);
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..reads {
        let (d, f) = rng.path();
        let tree = repo
            .find_reference("refs/heads/main")
            .unwrap()
            .peel_to_tree()
            .unwrap();
        let entry = tree.get_path(Path::new(&path(d, f))).unwrap();
        bytes += repo.find_blob(entry.id()).unwrap().content().len();
    }
    let read_time = start.elapsed();
    assert!(bytes > 0);
    Result {
        name: "libgit2 (git2)",
        import,
        commits_per_s: commits as f64 / commit_time.as_secs_f64(),
        reads_per_s: reads as f64 / read_time.as_secs_f64(),
    }
}

fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run git");
    if let Some(input) = input {
        child.stdin.take().unwrap().write_all(input).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Commits through the command line spawn five processes each; this many are enough.
const CLI_COMMITS: usize = 200;

fn git_cli(work: &Path, commits: usize, reads: usize) -> Option<Result> {
    let commits = commits.min(CLI_COMMITS);
    if Command::new("git").arg("--version").output().is_err() {
        println!("SKIP: the git command line is not installed; no git column");
        return None;
    }
    std::fs::create_dir_all(work).unwrap();
    let start = Instant::now();
    git(work, &["init", "-q", "-b", "main"], None);
    for d in 0..DIRS {
        std::fs::create_dir_all(work.join(format!("d{d:03}"))).unwrap();
        for f in 0..FILES {
            std::fs::write(work.join(path(d, f)), content(d, f, 0)).unwrap();
        }
    }
    git(work, &["add", "-A"], None);
    git(work, &["commit", "-q", "-m", "import"], None);
    let import = start.elapsed();

    // Plumbing, as a store would drive git: blob, index entry, tree, commit, ref.
    let mut rng = Lcg(1);
    let start = Instant::now();
    for i in 0..commits {
        let (d, f) = rng.path();
        let blob = git(
            work,
            &["hash-object", "-w", "--stdin"],
            Some(content(d, f, i + 1).as_bytes()),
        );
        git(
            work,
            &[
                "update-index",
                "--cacheinfo",
                &format!("100644,{blob},{}", path(d, f)),
            ],
            None,
        );
        let tree = git(work, &["write-tree"], None);
        let commit = git(
            work,
            &["commit-tree", &tree, "-p", "main", "-m", "edit"],
            None,
        );
        git(work, &["update-ref", "refs/heads/main", &commit], None);
    }
    let commit_time = start.elapsed();

    let mut child = Command::new("git")
        .current_dir(work)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut rng = Lcg(2);
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..reads {
        let (d, f) = rng.path();
        writeln!(stdin, "main:{}", path(d, f)).unwrap();
        stdin.flush().unwrap();
        let mut header = String::new();
        stdout.read_line(&mut header).unwrap();
        let size: usize = header.split_whitespace().nth(2).unwrap().parse().unwrap();
        let mut buf = vec![0u8; size + 1];
        stdout.read_exact(&mut buf).unwrap();
        bytes += size;
    }
    let read_time = start.elapsed();
    drop(stdin);
    child.wait().unwrap();
    assert!(bytes > 0);
    Some(Result {
        name: "git CLI",
        import,
        commits_per_s: commits as f64 / commit_time.as_secs_f64(),
        reads_per_s: reads as f64 / read_time.as_secs_f64(),
    })
}

/// Median and spread (min..max) of a series.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let commits: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let reads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    println!(
        "tree: {DIRS} directories x {FILES} files; {commits} single-file commits; {reads} random reads; {runs} runs"
    );

    let mut all: Vec<Vec<Result>> = Vec::new();
    for run in 0..runs {
        let tmp: PathBuf =
            std::env::temp_dir().join(format!("mirage-irmin-bench-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let mut results = vec![
            irmin(
                "mirage-irmin (disk)",
                FsBackend::init(tmp.join("irmin.git"), HashKind::Sha1, FsOptions::default())
                    .unwrap(),
                commits,
                reads,
            ),
            irmin(
                "mirage-irmin (memory)",
                MemBackend::default(),
                commits,
                reads,
            ),
            libgit2(&tmp.join("git2.git"), commits, reads),
        ];
        results.extend(git_cli(&tmp.join("cli"), commits, reads));
        let _ = std::fs::remove_dir_all(&tmp);
        all.push(results);
    }

    println!(
        "{:<24} {:>10} {:>26} {:>26}",
        "median (min..max)", "import", "commits/s", "reads/s"
    );
    let contenders = all[0].len();
    let mut medians = Vec::new();
    for i in 0..contenders {
        let name = all[0][i].name;
        let (imp, _, _) = stats(all.iter().map(|r| r[i].import.as_secs_f64()).collect());
        let (c, c_lo, c_hi) = stats(all.iter().map(|r| r[i].commits_per_s).collect());
        let (r, r_lo, r_hi) = stats(all.iter().map(|r| r[i].reads_per_s).collect());
        println!(
            "{name:<24} {imp:>9.2}s {:>26} {:>26}",
            format!("{c:.1} ({c_lo:.1}..{c_hi:.1})"),
            format!("{r:.1} ({r_lo:.1}..{r_hi:.1})")
        );
        medians.push((name, c, r));
    }
    let (ours, oc, or) = medians[0];
    for (peer, pc, pr) in &medians[2..] {
        println!("commits: {ours} / {peer} = {:.2}", oc / pc);
        println!("reads:   {ours} / {peer} = {:.2}", or / pr);
    }
}
