//! Helpers shared by the integration tests: a system wall clock, `git fsck`,
//! and the identity `git` runs as; temporary directories and running `git`
//! come from mirage-testkit.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mirage_core::{Key, PosixTime, WallClock};
use mirage_testkit::git::Git;

#[allow(unused_imports)] // Not every test binary uses every helper.
pub use mirage_testkit::git::available as have_git;
#[allow(unused_imports)]
pub use mirage_testkit::tmp::TempDir;

/// Who `git` commits as in these tests.
pub const GIT: Git = Git::new("Git User", "git@example.org");

/// The host's calendar clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_posix(&self) -> PosixTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        PosixTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }
}

pub fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

/// Runs git as [`GIT`] with no user configuration; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    GIT.run(dir, args)
}

/// `git fsck --strict` on a git directory; panics with git's words on failure.
pub fn fsck(git_dir: &Path) {
    GIT.bytes(
        git_dir,
        &[
            "--git-dir",
            git_dir.to_str().unwrap(),
            "fsck",
            "--strict",
            "--no-dangling",
        ],
    );
}

/// The first `.pack` file of a git directory.
pub fn fsck_pack_list(git_dir: &Path) -> PathBuf {
    std::fs::read_dir(git_dir.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack file")
}
