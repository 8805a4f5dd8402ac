//! References on disk: loose files below the git directory (`refs/heads/main`),
//! the `packed-refs` file, and lock files for compare-and-swap updates.
//!
//! An update takes `<ref>.lock` with `O_CREAT|O_EXCL` (as git does), checks
//! the current value, writes the new one into the lock file and renames it
//! over the reference. Two writers therefore serialise on the lock, and the
//! loser of a compare-and-swap sees [`CasError::Mismatch`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gix_hash::ObjectId;

use super::io_err;
use crate::error::{BackendError, CasError};
use crate::refs::{RefName, RefValue, parse_value};

/// One line of `packed-refs`: a reference, its id, and the peeled id for tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedRef {
    /// The reference.
    pub name: RefName,
    /// What it points to.
    pub id: ObjectId,
    /// For an annotated tag, the object it finally points to (`^<id>` lines).
    pub peeled: Option<ObjectId>,
}

/// Parses the content of `packed-refs`.
pub fn parse_packed(content: &[u8], hash: gix_hash::Kind) -> Result<Vec<PackedRef>, BackendError> {
    let mut refs: Vec<PackedRef> = Vec::new();
    for (n, line) in content.split(|b| *b == b'\n').enumerate() {
        let bad = || BackendError::CorruptPackedRefs { line: n + 1 };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let hex_len = hash.len_in_hex();
        if let Some(peeled) = line.strip_prefix(b"^") {
            let id = ObjectId::from_hex(peeled).map_err(|_| bad())?;
            refs.last_mut().ok_or_else(bad)?.peeled = Some(id);
            continue;
        }
        if line.len() < hex_len + 2 || line[hex_len] != b' ' {
            return Err(bad());
        }
        let id = ObjectId::from_hex(&line[..hex_len]).map_err(|_| bad())?;
        let name = std::str::from_utf8(&line[hex_len + 1..]).map_err(|_| bad())?;
        let name = RefName::new(name).map_err(|_| bad())?;
        refs.push(PackedRef {
            name,
            id,
            peeled: None,
        });
    }
    Ok(refs)
}

/// Serialises `packed-refs`, sorted, with the header git writes.
pub fn format_packed(refs: &[PackedRef]) -> Vec<u8> {
    let mut sorted: Vec<&PackedRef> = refs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = b"# pack-refs with: peeled fully-peeled sorted \n".to_vec();
    for r in sorted {
        out.extend_from_slice(format!("{} {}\n", r.id, r.name).as_bytes());
        if let Some(p) = r.peeled {
            out.extend_from_slice(format!("^{p}\n").as_bytes());
        }
    }
    out
}

/// A held lock file; removed on drop unless committed by a rename.
pub struct Lock {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Lock {
    /// Takes `<target>.lock`, retrying for up to `timeout` while another writer holds it.
    pub fn acquire(target: &Path, name: &str, timeout: Duration) -> Result<Lock, BackendError> {
        let mut path = target.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        }
        let start = Instant::now();
        let mut backoff = Duration::from_micros(200);
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Lock {
                        path,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if start.elapsed() >= timeout {
                        return Err(BackendError::RefLocked {
                            name: name.to_owned(),
                            path,
                        });
                    }
                    // A blocking wait: the disk backend is synchronous by design.
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(20));
                }
                Err(e) => return Err(io_err("create", &path, e)),
            }
        }
    }

    /// Writes `content` into the lock file, then renames it over `target`.
    pub fn commit(
        mut self,
        target: &Path,
        content: &[u8],
        fsync: bool,
    ) -> Result<(), BackendError> {
        let mut file = self.file.take().expect("a lock is committed once");
        file.write_all(content)
            .and_then(|()| if fsync { file.sync_all() } else { Ok(()) })
            .map_err(|e| io_err("write", &self.path, e))?;
        drop(file);
        std::fs::rename(&self.path, target).map_err(|e| io_err("rename", target, e))?;
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The reference store of one git directory.
#[derive(Debug, Clone)]
pub struct RefStore {
    pub(super) git_dir: PathBuf,
    pub(super) hash: gix_hash::Kind,
    pub(super) lock_timeout: Duration,
    pub(super) fsync: bool,
}

impl RefStore {
    fn loose_path(&self, name: &RefName) -> PathBuf {
        self.git_dir.join(name.as_str())
    }

    fn packed_path(&self) -> PathBuf {
        self.git_dir.join("packed-refs")
    }

    /// All entries of `packed-refs` (empty if the file does not exist).
    pub fn packed(&self) -> Result<Vec<PackedRef>, BackendError> {
        let path = self.packed_path();
        match std::fs::read(&path) {
            Ok(content) => parse_packed(&content, self.hash),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err("read", &path, e)),
        }
    }

    fn read_loose(&self, name: &RefName) -> Result<Option<RefValue>, BackendError> {
        let path = self.loose_path(name);
        match std::fs::read(&path) {
            Ok(content) => {
                parse_value(&content, self.hash)
                    .map(Some)
                    .ok_or_else(|| BackendError::CorruptRef {
                        name: name.to_string(),
                    })
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) if path.is_dir() => {
                let _ = e;
                Ok(None)
            }
            Err(e) => Err(io_err("read", &path, e)),
        }
    }

    /// The value of `name`: the loose file if present, else `packed-refs`.
    pub fn read(&self, name: &RefName) -> Result<Option<RefValue>, BackendError> {
        if let Some(v) = self.read_loose(name)? {
            return Ok(Some(v));
        }
        if !name.as_str().starts_with("refs/") {
            return Ok(None);
        }
        Ok(self
            .packed()?
            .into_iter()
            .find(|r| &r.name == name)
            .map(|r| RefValue::Object(r.id)))
    }

    /// Compare-and-swap of a direct reference under its lock file.
    pub fn update(
        &self,
        name: &RefName,
        expected: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<(), CasError> {
        let path = self.loose_path(name);
        let lock = Lock::acquire(&path, name.as_str(), self.lock_timeout)?;
        let current = self.read(name)?;
        let actual = match &current {
            Some(RefValue::Object(id)) => Some(*id),
            _ => None,
        };
        if actual != expected || matches!(current, Some(RefValue::Symbolic(_))) {
            return Err(CasError::Mismatch {
                name: name.to_string(),
                expected,
                actual,
            });
        }
        match new {
            Some(id) => lock.commit(&path, format!("{id}\n").as_bytes(), self.fsync)?,
            None => {
                // Always under the packed-refs lock, so that a concurrent
                // `pack` cannot put the reference back into packed-refs.
                let packed_path = self.packed_path();
                let packed_lock = Lock::acquire(&packed_path, "packed-refs", self.lock_timeout)?;
                let packed = self.packed()?;
                if packed.iter().any(|r| &r.name == name) {
                    let rest: Vec<PackedRef> =
                        packed.into_iter().filter(|r| &r.name != name).collect();
                    packed_lock.commit(&packed_path, &format_packed(&rest), self.fsync)?;
                } else {
                    drop(packed_lock);
                }
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("remove", &path, e).into()),
                }
                drop(lock);
            }
        }
        Ok(())
    }

    /// Points `name` at `target` symbolically (`ref: <target>`).
    pub fn set_symbolic(&self, name: &RefName, target: &RefName) -> Result<(), BackendError> {
        let path = self.loose_path(name);
        let lock = Lock::acquire(&path, name.as_str(), self.lock_timeout)?;
        lock.commit(&path, format!("ref: {target}\n").as_bytes(), self.fsync)
    }

    /// Moves every loose reference into `packed-refs`, as `git pack-refs
    /// --all` does; `peel` gives the commit an annotated tag finally names.
    /// A reference changed meanwhile keeps its loose file. Returns how many
    /// loose files were removed.
    pub fn pack(
        &self,
        peel: impl Fn(&ObjectId) -> Option<ObjectId>,
    ) -> Result<usize, BackendError> {
        let packed_path = self.packed_path();
        let packed_lock = Lock::acquire(&packed_path, "packed-refs", self.lock_timeout)?;
        let mut all: std::collections::BTreeMap<RefName, PackedRef> = self
            .packed()?
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        let loose = self.list_loose()?;
        for (name, id) in &loose {
            let peeled = peel(id).filter(|p| p != id);
            all.insert(
                name.clone(),
                PackedRef {
                    name: name.clone(),
                    id: *id,
                    peeled,
                },
            );
        }
        let all: Vec<PackedRef> = all.into_values().collect();
        packed_lock.commit(&packed_path, &format_packed(&all), self.fsync)?;
        let mut removed = 0;
        for (name, id) in loose {
            let path = self.loose_path(&name);
            // Busy references stay loose; they are still right.
            let Ok(lock) = Lock::acquire(&path, name.as_str(), Duration::ZERO) else {
                continue;
            };
            if self.read_loose(&name)? == Some(RefValue::Object(id))
                && std::fs::remove_file(&path).is_ok()
            {
                removed += 1;
            }
            drop(lock);
        }
        Ok(removed)
    }

    /// The direct loose references below `refs/`.
    fn list_loose(&self) -> Result<Vec<(RefName, ObjectId)>, BackendError> {
        let mut found = Vec::new();
        let mut stack = vec![self.git_dir.join("refs")];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("list", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_err("list", &dir, e))?;
                let path = entry.path();
                let file_type = entry.file_type().map_err(|e| io_err("stat", &path, e))?;
                if file_type.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(rel) = path.strip_prefix(&self.git_dir) else {
                    continue;
                };
                let Some(rel) = rel.to_str() else { continue };
                // Lock files and stray names are not references.
                let Ok(name) = RefName::new(rel) else {
                    continue;
                };
                match self.read_loose(&name) {
                    Ok(Some(RefValue::Object(id))) => found.push((name, id)),
                    Ok(_) => {}
                    // A reference being rewritten or deleted right now is skipped.
                    Err(BackendError::CorruptRef { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(found)
    }

    /// All direct references starting with `prefix`, loose ones shadowing packed ones.
    pub fn list(&self, prefix: &str) -> Result<Vec<(RefName, ObjectId)>, BackendError> {
        let mut found = std::collections::BTreeMap::new();
        for r in self.packed()? {
            found.insert(r.name, r.id);
        }
        for (name, id) in self.list_loose()? {
            found.insert(name, id);
        }
        Ok(found
            .into_iter()
            .filter(|(n, _)| n.as_str().starts_with(prefix))
            .collect())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn packed_refs_round_trip() {
        let text = b"# pack-refs with: peeled fully-peeled sorted \n\
b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0 refs/heads/main\n\
4b825dc642cb6eb9a060e54bf8d69288fbee4904 refs/tags/v1\n\
^b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0\n";
        let refs = parse_packed(text, gix_hash::Kind::Sha1).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].peeled, Some(refs[0].id));
        assert_eq!(format_packed(&refs), text.to_vec());
    }

    #[test]
    fn packed_refs_errors_name_the_line() {
        let err = parse_packed(b"# x\nnot a line\n", gix_hash::Kind::Sha1).unwrap_err();
        assert!(matches!(err, BackendError::CorruptPackedRefs { line: 2 }));
        assert!(
            parse_packed(
                b"^b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0\n",
                gix_hash::Kind::Sha1
            )
            .is_err()
        );
    }

    fn arbitrary_packed(names: Vec<(u8, u8)>, ids: Vec<(u64, bool)>) -> Vec<PackedRef> {
        let mut refs: Vec<PackedRef> = names
            .iter()
            .zip(&ids)
            .map(|((a, b), (seed, peeled))| {
                let id = |s: u64| {
                    let mut bytes = [0u8; 20];
                    bytes[..8].copy_from_slice(&s.to_be_bytes());
                    ObjectId::from_bytes_or_panic(&bytes)
                };
                PackedRef {
                    name: RefName::new(&format!(
                        "refs/{}/x{}",
                        if a % 2 == 0 { "heads" } else { "tags" },
                        b
                    ))
                    .unwrap(),
                    id: id(*seed),
                    peeled: peeled.then(|| id(seed.wrapping_add(1))),
                }
            })
            .collect();
        refs.sort_by(|a, b| a.name.cmp(&b.name));
        refs.dedup_by(|a, b| a.name == b.name);
        refs
    }

    quickcheck::quickcheck! {
        fn parse_packed_never_panics(data: Vec<u8>) -> bool {
            let _ = parse_packed(&data, gix_hash::Kind::Sha1);
            true
        }
        fn packed_refs_format_then_parse_is_identity(names: Vec<(u8, u8)>, ids: Vec<(u64, bool)>) -> bool {
            let refs = arbitrary_packed(names, ids);
            parse_packed(&format_packed(&refs), gix_hash::Kind::Sha1).unwrap() == refs
        }
    }
}
