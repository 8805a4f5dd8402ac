//! Writing: the [`KvRw`] half of [`DirKv`], except batches.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use mirage_core::{Change, EntryKind, Key, KvError, KvRw};

use super::{DirKv, io_err, is_missing, sync_dir};

/// Where a value will be stored, as found by [`DirKv::value_target`].
pub(super) struct Target {
    pub path: PathBuf,
    /// A directory tree holding no value sits at the key and must go first.
    pub empty_dir: bool,
}

impl DirKv {
    /// Checks that a value can be stored at `key`: the store is writable,
    /// the key is not the root, no prefix is a value and the key is not a
    /// dictionary holding values.
    pub(super) fn value_target(&self, key: &Key) -> Result<Target, KvError> {
        self.writable()?;
        if key.is_root() {
            return Err(KvError::ValueExpected(key.clone()));
        }
        self.path(key)?;
        let mut prefix = Key::root();
        for seg in &key.segments()[..key.segments().len() - 1] {
            prefix = prefix
                .join(seg.as_str())
                .map_err(|_| KvError::NotFound(key.clone()))?;
            if self.kind(&prefix)? == Some(EntryKind::Value) {
                return Err(KvError::DictionaryExpected(prefix));
            }
        }
        let path = self.checked_path(key)?;
        let mut empty_dir = false;
        if self.kind(key)? == Some(EntryKind::Dictionary) {
            if has_values(&path)? {
                return Err(KvError::ValueExpected(key.clone()));
            }
            empty_dir = true;
        }
        Ok(Target { path, empty_dir })
    }

    /// Creates the directories of `dir` that are missing, making each
    /// creation durable.
    pub(super) fn make_dirs(&self, dir: &Key) -> Result<(), KvError> {
        let mut path = self.root.clone();
        for seg in dir.segments() {
            let parent = path.clone();
            path.push(seg);
            match fs::create_dir(&path) {
                Ok(()) => sync_dir(&parent)?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err(&path, e)),
            }
        }
        Ok(())
    }

    /// Writes `data` to a new temporary file in `.dirkv` and `fsync`s it.
    pub(super) fn write_temp(&self, data: &[u8]) -> Result<PathBuf, KvError> {
        let dir = self.ensure_reserved()?;
        let path = dir.join(self.fresh_name("tmp"));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let written = f.write_all(data).and_then(|()| f.sync_all());
        if let Err(e) = written {
            let _ = fs::remove_file(&path);
            return Err(io_err(&path, e));
        }
        Ok(path)
    }

    /// Removes the empty directories from `dir` up to (not including) the
    /// root, stopping at the first that is not empty.
    pub(super) fn prune(&self, dir: &Path) -> Result<(), KvError> {
        let mut dir = dir.to_owned();
        while dir != self.root && dir.starts_with(&self.root) {
            match fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e) if is_missing(&e) => {}
                Err(_) => return Ok(()), // Not empty (or not ours to remove).
            }
            let Some(parent) = dir.parent() else {
                return Ok(());
            };
            sync_dir(parent)?;
            dir = parent.to_owned();
        }
        Ok(())
    }

    /// Removes the value or dictionary at `path`; a dictionary is first
    /// renamed out of the tree so it vanishes at once. Then prunes the
    /// directories this emptied.
    pub(super) fn remove_path(&self, path: &Path, kind: EntryKind) -> Result<(), KvError> {
        let parent = path.parent().unwrap_or(&self.root).to_owned();
        match kind {
            EntryKind::Value => match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(io_err(path, e)),
            },
            EntryKind::Dictionary => {
                let trash = self.ensure_reserved()?.join(self.fresh_name("trash"));
                match fs::rename(path, &trash) {
                    Ok(()) => {}
                    Err(e) if is_missing(&e) => return Ok(()),
                    Err(e) => return Err(io_err(path, e)),
                }
                sync_dir(&parent)?;
                fs::remove_dir_all(&trash).map_err(|e| io_err(&trash, e))?;
            }
        }
        sync_dir(&parent)?;
        self.prune(&parent)
    }

    /// Stores the file `temp` at `key` (checked by [`DirKv::value_target`]).
    pub(super) fn install(&self, key: &Key, target: &Target, temp: &Path) -> Result<(), KvError> {
        if target.empty_dir {
            fs::remove_dir_all(&target.path).map_err(|e| io_err(&target.path, e))?;
        }
        self.make_dirs(&key.parent())?;
        fs::rename(temp, &target.path).map_err(|e| io_err(&target.path, e))?;
        sync_dir(target.path.parent().unwrap_or(&self.root))
    }
}

/// Whether the tree at `path` holds a regular file.
pub(super) fn has_values(path: &Path) -> Result<bool, KvError> {
    let rd = match fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if is_missing(&e) => return Ok(false),
        Err(e) => return Err(io_err(path, e)),
    };
    for ent in rd {
        let ent = ent.map_err(|e| io_err(path, e))?;
        let ft = ent.file_type().map_err(|e| io_err(path, e))?;
        if !ft.is_dir() || has_values(&ent.path())? {
            return Ok(true);
        }
    }
    Ok(false)
}

impl KvRw for DirKv {
    async fn set(&self, key: &Key, value: Bytes) -> Result<(), KvError> {
        let target = self.value_target(key)?;
        let temp = self.write_temp(&value)?;
        let installed = self.install(key, &target, &temp);
        if installed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        installed
    }

    async fn set_partial(&self, key: &Key, offset: u64, data: &[u8]) -> Result<(), KvError> {
        let target = self.value_target(key)?;
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(KvError::NoSpace)?;
        if target.empty_dir {
            fs::remove_dir_all(&target.path).map_err(|e| io_err(&target.path, e))?;
        }
        self.make_dirs(&key.parent())?;
        let path = &target.path;
        let created = !path.exists();
        let f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        let len = f.metadata().map_err(|e| io_err(path, e))?.len();
        if len < end {
            f.set_len(end).map_err(|e| io_err(path, e))?;
        }
        f.write_all_at(data, offset).map_err(|e| io_err(path, e))?;
        f.sync_data().map_err(|e| io_err(path, e))?;
        if created {
            sync_dir(path.parent().unwrap_or(&self.root))?;
        }
        Ok(())
    }

    async fn remove(&self, key: &Key) -> Result<(), KvError> {
        self.writable()?;
        if key.is_root() {
            for e in self.entries(&self.root)? {
                self.remove_path(&e.path, e.kind)?;
            }
            return Ok(());
        }
        self.path(key)?;
        match self.kind(key)? {
            None => Ok(()),
            Some(kind) => self.remove_path(&self.checked_path(key)?, kind),
        }
    }

    async fn rename(&self, source: &Key, dest: &Key) -> Result<(), KvError> {
        self.writable()?;
        self.path(source)?;
        let src_kind = self
            .kind(source)?
            .ok_or_else(|| KvError::NotFound(source.clone()))?;
        if source == dest {
            return Ok(());
        }
        if dest.starts_with(source) || source.is_root() {
            return Err(KvError::RenameIntoItself {
                from: source.clone(),
                dest: dest.clone(),
            });
        }
        let src = self.checked_path(source)?;
        let target = self.value_target(dest)?;
        if src_kind == EntryKind::Dictionary && self.kind(dest)? == Some(EntryKind::Value) {
            // rename(2) does not put a directory over a file: move the file
            // out of the way first.
            self.remove_path(&target.path, EntryKind::Value)?;
        }
        self.install(dest, &target, &src)?;
        let parent = src.parent().unwrap_or(&self.root).to_owned();
        sync_dir(&parent)?;
        self.prune(&parent)
    }

    async fn batch(&self, changes: Vec<Change>) -> Result<(), KvError> {
        self.writable()?;
        super::batch::run(self, changes)
    }
}
