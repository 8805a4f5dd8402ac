//! Temporary directories that clean up after themselves.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A new, empty directory under the system temporary directory, removed
/// with its contents on drop. Its name holds the package under test (from
/// `CARGO_PKG_NAME`, which `cargo test` sets), `tag`, the process id and a
/// counter, so tests running at the same time never share one and a
/// leftover says whose it is.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Makes `<tmp>/<package>-<tag>-<pid>-<n>`, emptied first if a crashed
    /// run left it.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "mirage-test".into());
        let dir = std::env::temp_dir().join(format!(
            "{package}-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
