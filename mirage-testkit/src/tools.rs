//! Whether the programs a test needs are installed, and the line a test
//! prints when it skips.
//!
//! A program counts as installed when an executable file of that name is
//! on `PATH` (or at the path given, when the name holds a `/`). Nothing is
//! run, so it does not matter which option a program takes for its version
//! or whether it exits non-zero for `-h`.

use std::fmt::Display;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Whether `program` can be run: an executable file found on `PATH`.
pub fn have(program: &str) -> bool {
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| executable(&d.join(program))))
}

/// Why a test cannot run for want of one of `programs`: "`dig` is not
/// installed" for the first missing one, or `None` when all are there.
pub fn missing(programs: &[&str]) -> Option<String> {
    programs
        .iter()
        .find(|p| !have(p))
        .map(|p| format!("`{p}` is not installed"))
}

/// Prints the line that says a test did not run and why: `SKIP: <why>`.
/// The caller returns right after, so the test neither fails nor passes
/// silently.
pub fn skip(why: impl Display) {
    println!("SKIP: {why}");
}
