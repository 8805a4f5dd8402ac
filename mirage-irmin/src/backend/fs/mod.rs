//! The on-disk backend: a real `.git` directory that `git` reads and writes
//! alongside us (feature `fs`).
//!
//! - objects: loose (`objects/ab/cdef…`, zlib) and packed (`objects/pack/*.pack`
//!   with `.idx`, deltas resolved by gix-pack); new objects are written loose.
//! - references: loose files and `packed-refs`; updates are compare-and-swap
//!   under `<ref>.lock`, like git's own.
//! - [`FsBackend::gc`] packs loose objects into one pack with an index.
//! - `objects/info/alternates`: objects of other repositories are read
//!   (never written or collected), as after `git clone --shared`.
//!
//! All I/O is synchronous `std::fs`; the async store API calls it inline,
//! which blocks the executor for the duration of a small file operation.
//! Objects are written (and, with [`FsOptions::fsync`], synced) before the
//! reference that makes them reachable is renamed into place, so a process
//! killed at any point leaves a repository `git fsck` accepts.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use gix_hash::{ObjectId, oid};

use super::Backend;
use crate::error::{BackendError, CasError};
use crate::object::{ObjectKind, RawObject, object_id};
use crate::refs::{RefName, RefValue};

mod cache;
mod gc;
mod import;
pub mod loose;
pub mod pack;
pub mod refs;

pub use gc::GcOutcome;

pub(crate) fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> BackendError {
    BackendError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// A unique file name in `dir` for a temporary file, starting with `prefix`.
pub(crate) fn temp_path(dir: &Path, prefix: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    dir.join(format!("{prefix}{}_{n}_{nanos}", std::process::id()))
}

/// Choices for an [`FsBackend`].
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// `fsync` objects and references before renaming them into place, so
    /// that a power cut (not only a killed process) keeps every acknowledged
    /// commit. Off by default, as in git (`core.fsync`).
    pub fsync: bool,
    /// How long to wait for another writer's `.lock` file before giving up
    /// with [`BackendError::RefLocked`].
    pub lock_timeout: Duration,
    /// Objects larger than this are refused when read (protects memory).
    pub max_object_size: u64,
    /// Bytes of decoded objects kept in memory to spare re-reading trees
    /// and commits (0: no cache).
    pub cache_bytes: usize,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            fsync: false,
            lock_timeout: Duration::from_secs(5),
            max_object_size: 1 << 30,
            cache_bytes: 32 << 20,
        }
    }
}

/// A git directory on disk (bare, or the `.git` of a work tree).
#[derive(Debug)]
pub struct FsBackend {
    git_dir: PathBuf,
    objects_dir: PathBuf,
    hash: gix_hash::Kind,
    options: FsOptions,
    refs: refs::RefStore,
    packs: Mutex<pack::PackSet>,
    cache: Mutex<cache::ObjectCache>,
    /// Object directories of other repositories this one borrows from
    /// (`objects/info/alternates`), read only.
    alternates: Vec<Alternate>,
}

/// Another repository's object directory, listed in `objects/info/alternates`.
#[derive(Debug)]
struct Alternate {
    objects_dir: PathBuf,
    packs: Mutex<pack::PackSet>,
}

/// Git follows alternates of alternates this deep.
const MAX_ALTERNATE_DEPTH: usize = 5;

/// The object directories named by `objects/info/alternates`, recursively
/// (paths relative to the naming objects directory), without duplicates.
fn read_alternates(objects_dir: &Path) -> Result<Vec<PathBuf>, BackendError> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut todo = vec![(objects_dir.to_owned(), 0)];
    while let Some((dir, depth)) = todo.pop() {
        let file = dir.join("info/alternates");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("read", &file, e)),
        };
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let alt = dir.join(line);
            let alt = alt.canonicalize().unwrap_or(alt);
            if alt.is_dir() && alt != objects_dir && !out.contains(&alt) {
                if depth + 1 < MAX_ALTERNATE_DEPTH {
                    todo.push((alt.clone(), depth + 1));
                }
                out.push(alt);
            }
        }
    }
    Ok(out)
}

fn config_object_format(config: &str) -> Option<String> {
    let mut section = String::new();
    for line in config.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('[') {
            section = rest.trim_end_matches(']').trim().to_ascii_lowercase();
            continue;
        }
        if section == "extensions"
            && let Some((key, value)) = line.split_once('=')
            && key.trim().eq_ignore_ascii_case("objectformat")
        {
            return Some(value.trim().to_ascii_lowercase());
        }
    }
    None
}

fn hash_from_name(name: &str) -> Result<gix_hash::Kind, BackendError> {
    match name {
        "sha1" => Ok(gix_hash::Kind::Sha1),
        #[cfg(feature = "sha256")]
        "sha256" => Ok(gix_hash::Kind::Sha256),
        other => Err(BackendError::UnsupportedObjectFormat(other.to_owned())),
    }
}

impl FsBackend {
    /// Creates a bare repository at `git_dir` (as `git init --bare` would,
    /// with `HEAD` on `refs/heads/main`), or opens it if one exists.
    pub fn init(
        git_dir: impl AsRef<Path>,
        hash: gix_hash::Kind,
        options: FsOptions,
    ) -> Result<FsBackend, BackendError> {
        let git_dir = git_dir.as_ref();
        if git_dir.join("HEAD").is_file() {
            return FsBackend::open_with(git_dir, options);
        }
        for dir in ["objects/info", "objects/pack", "refs/heads", "refs/tags"] {
            let d = git_dir.join(dir);
            std::fs::create_dir_all(&d).map_err(|e| io_err("create", &d, e))?;
        }
        let config = match hash {
            gix_hash::Kind::Sha1 => {
                "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
                    .to_owned()
            }
            #[allow(unreachable_patterns)]
            other => format!(
                "[core]\n\trepositoryformatversion = 1\n\tfilemode = true\n\tbare = true\n[extensions]\n\tobjectformat = {}\n",
                other
            ),
        };
        let config_path = git_dir.join("config");
        std::fs::write(&config_path, config).map_err(|e| io_err("write", &config_path, e))?;
        let head = git_dir.join("HEAD");
        std::fs::write(&head, "ref: refs/heads/main\n").map_err(|e| io_err("write", &head, e))?;
        FsBackend::open_with(git_dir, options)
    }

    /// Opens an existing repository: `path` is a git directory, or a work tree containing `.git`.
    pub fn open(path: impl AsRef<Path>) -> Result<FsBackend, BackendError> {
        FsBackend::open_with(path, FsOptions::default())
    }

    /// [`FsBackend::open`] with explicit options.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: FsOptions,
    ) -> Result<FsBackend, BackendError> {
        let path = path.as_ref();
        let git_dir = if path.join(".git").is_dir() {
            path.join(".git")
        } else {
            path.to_owned()
        };
        if !git_dir.join("HEAD").is_file() || !git_dir.join("objects").is_dir() {
            return Err(BackendError::NotARepository(path.to_owned()));
        }
        let config_path = git_dir.join("config");
        let hash = match std::fs::read_to_string(&config_path) {
            Ok(config) => match config_object_format(&config) {
                Some(name) => hash_from_name(&name)?,
                None => gix_hash::Kind::Sha1,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => gix_hash::Kind::Sha1,
            Err(e) => return Err(io_err("read", &config_path, e)),
        };
        let alternates = read_alternates(&git_dir.join("objects"))?
            .into_iter()
            .map(|objects_dir| Alternate {
                objects_dir,
                packs: Mutex::new(pack::PackSet::with_alloc_limit(options.max_object_size)),
            })
            .collect();
        Ok(FsBackend {
            alternates,
            objects_dir: git_dir.join("objects"),
            refs: refs::RefStore {
                git_dir: git_dir.clone(),
                hash,
                lock_timeout: options.lock_timeout,
                fsync: options.fsync,
            },
            git_dir,
            hash,
            packs: Mutex::new(pack::PackSet::with_alloc_limit(options.max_object_size)),
            cache: Mutex::new(cache::ObjectCache::new(options.cache_bytes)),
            options,
        })
    }

    /// The git directory.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The reference store, for direct access to `packed-refs` and friends.
    pub fn ref_store(&self) -> &refs::RefStore {
        &self.refs
    }

    fn pack_dir(&self) -> PathBuf {
        self.objects_dir.join("pack")
    }

    fn packs(&self) -> std::sync::MutexGuard<'_, pack::PackSet> {
        // The pack set is a cache; a panic elsewhere cannot corrupt it.
        self.packs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, cache::ObjectCache> {
        // A cache of immutable objects; a panic elsewhere cannot corrupt it.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_uncached(&self, id: &oid) -> Result<Option<RawObject>, BackendError> {
        if let Some(obj) = loose::read(&self.objects_dir, id, self.options.max_object_size)? {
            return Ok(Some(obj));
        }
        if let Some(obj) = self.read_packed(id, false)? {
            return Ok(Some(obj));
        }
        // Packs may have appeared (and loose objects vanished) meanwhile.
        if let Some(obj) = self.read_packed(id, true)? {
            return Ok(Some(obj));
        }
        if let Some(obj) = loose::read(&self.objects_dir, id, self.options.max_object_size)? {
            return Ok(Some(obj));
        }
        for alt in &self.alternates {
            if let Some(obj) = loose::read(&alt.objects_dir, id, self.options.max_object_size)? {
                return Ok(Some(obj));
            }
            let mut packs = alt.packs.lock().unwrap_or_else(PoisonError::into_inner);
            packs.refresh(&alt.objects_dir.join("pack"), self.hash)?;
            if let Some(obj) = packs.read(id)? {
                return Ok(Some(obj));
            }
        }
        Ok(None)
    }

    fn read_packed(&self, id: &oid, refresh: bool) -> Result<Option<RawObject>, BackendError> {
        let mut packs = self.packs();
        if refresh {
            packs.refresh(&self.pack_dir(), self.hash)?;
        }
        packs.read(id)
    }
}

impl Backend for FsBackend {
    fn object_hash(&self) -> gix_hash::Kind {
        self.hash
    }

    fn read_object(&self, id: &oid) -> Result<Option<RawObject>, BackendError> {
        if let Some(obj) = self.cache().get(id) {
            return Ok(Some(obj));
        }
        let found = self.read_uncached(id)?;
        if let Some(obj) = &found {
            self.cache().put(id.to_owned(), obj);
        }
        Ok(found)
    }

    fn contains_object(&self, id: &oid) -> Result<bool, BackendError> {
        if loose::path_of(&self.objects_dir, id).exists() || self.packs().contains(id) {
            return Ok(true);
        }
        {
            let mut packs = self.packs();
            packs.refresh(&self.pack_dir(), self.hash)?;
            if packs.contains(id) || loose::path_of(&self.objects_dir, id).exists() {
                return Ok(true);
            }
        }
        for alt in &self.alternates {
            if loose::path_of(&alt.objects_dir, id).exists() {
                return Ok(true);
            }
            let mut packs = alt.packs.lock().unwrap_or_else(PoisonError::into_inner);
            packs.refresh(&alt.objects_dir.join("pack"), self.hash)?;
            if packs.contains(id) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn write_object(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, BackendError> {
        let id = object_id(self.hash, kind, data)?;
        if !self.packs().contains(&id) {
            loose::write(&self.objects_dir, &id, kind, data, self.options.fsync)?;
        }
        Ok(id)
    }

    fn read_ref(&self, name: &RefName) -> Result<Option<RefValue>, BackendError> {
        self.refs.read(name)
    }

    fn update_ref(
        &self,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<(), CasError> {
        if let Some(id) = new.as_ref().filter(|id| id.kind() != self.hash) {
            return Err(BackendError::HashMismatch {
                id: *id,
                expected: self.hash,
            }
            .into());
        }
        self.refs.update(name, expected, new)
    }

    fn set_symbolic_ref(&self, name: &RefName, target: &RefName) -> Result<(), BackendError> {
        self.refs.set_symbolic(name, target)
    }

    fn list_refs(&self, prefix: &str) -> Result<Vec<(RefName, ObjectId)>, BackendError> {
        self.refs.list(prefix)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn reads_object_format_from_config() {
        let cfg = "[core]\n\tbare = true\n[extensions]\n\tobjectFormat = sha256\n";
        assert_eq!(config_object_format(cfg).as_deref(), Some("sha256"));
        assert_eq!(config_object_format("[core]\n\tbare = true\n"), None);
    }

    quickcheck::quickcheck! {
        fn config_parsing_never_panics(text: String) -> bool {
            let _ = config_object_format(&text);
            true
        }
    }
}
