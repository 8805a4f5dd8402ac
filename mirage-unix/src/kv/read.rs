//! Reading: the [`KvRo`] half of [`DirKv`].

use std::fs;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mirage_core::key::MAX_SEGMENT_LEN;
use mirage_core::{Digest, EntryKind, Key, KvError, KvRo, Metadata, PosixTime, Region};

use super::open::{Access, Top};
use super::{DirKv, RESERVED, digest, io_err, kind_at};

/// One entry of a directory as the store sees it.
pub(super) struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub path: PathBuf,
}

impl DirKv {
    /// The entries of the directory `dir` that the store shows, sorted by
    /// name: regular files and directories whose names are valid key
    /// segments, without `.dirkv` at the root and without symbolic links
    /// that lead outside the root.
    pub(super) fn entries(&self, dir: &Path) -> Result<Vec<Entry>, KvError> {
        let at_root = dir == self.root;
        let mut out = Vec::new();
        let rd = fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| io_err(dir, e))?;
            let Ok(name) = ent.file_name().into_string() else {
                log::debug!("{}: skipping a name that is not UTF-8", dir.display());
                continue;
            };
            if (at_root && name == RESERVED) || name.len() > MAX_SEGMENT_LEN {
                continue;
            }
            let path = ent.path();
            let ft = ent.file_type().map_err(|e| io_err(&path, e))?;
            if ft.is_symlink() {
                match fs::canonicalize(&path) {
                    Ok(real) if real.starts_with(&self.canonical) => {}
                    _ => continue,
                }
            }
            let kind = if ft.is_symlink() {
                kind_at(&path)?
            } else if ft.is_file() {
                Some(EntryKind::Value)
            } else if ft.is_dir() {
                Some(EntryKind::Dictionary)
            } else {
                None
            };
            if let Some(kind) = kind {
                out.push(Entry { name, kind, path });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The host path of the dictionary `key`, or why it is not one.
    pub(super) fn dictionary_path(&self, key: &Key) -> Result<PathBuf, KvError> {
        match self.locate(key)? {
            (_, None) => Err(KvError::NotFound(key.clone())),
            (_, Some(EntryKind::Value)) => Err(KvError::DictionaryExpected(key.clone())),
            (path, Some(EntryKind::Dictionary)) => Ok(path),
        }
    }

    /// The value `key` opened for reading, with its length, or why it is
    /// not one.
    pub(super) fn open_value(&self, key: &Key) -> Result<(fs::File, u64), KvError> {
        if key.is_root() {
            return Err(KvError::ValueExpected(key.clone()));
        }
        if super::is_reserved(key) {
            return Err(KvError::NotFound(key.clone()));
        }
        let Some(file) = self.open_key(key, Access::Read)? else {
            return Err(KvError::NotFound(key.clone()));
        };
        let meta = file.metadata().map_err(|e| self.key_err(key, e))?;
        if meta.is_dir() {
            return Err(KvError::ValueExpected(key.clone()));
        }
        if !meta.is_file() {
            return Err(KvError::NotFound(key.clone()));
        }
        Ok((file, meta.len()))
    }

    /// A host error about the file at `key`, naming its path.
    pub(super) fn key_err(&self, key: &Key, e: std::io::Error) -> KvError {
        match self.path(key) {
            Ok(path) => io_err(&path, e),
            Err(reserved) => reserved,
        }
    }

    /// The latest modification time in the tree at `path`.
    fn newest(&self, path: &Path, kind: EntryKind) -> Result<SystemTime, KvError> {
        let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
        let mut t = meta.modified().map_err(|e| io_err(path, e))?;
        if kind == EntryKind::Dictionary {
            for e in self.entries(path)? {
                t = t.max(self.newest(&e.path, e.kind)?);
            }
        }
        Ok(t)
    }
}

fn posix(t: SystemTime) -> PosixTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => PosixTime {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
        },
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => PosixTime::from_secs(-secs),
                n => PosixTime {
                    secs: -secs - 1,
                    nanos: 1_000_000_000 - n,
                },
            }
        }
    }
}

impl KvRo for DirKv {
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        if key.is_root() || super::is_reserved(key) {
            return self.kind(key);
        }
        if let [name] = key.segments() {
            match self.stat_top(name)? {
                Top::Missing => return Ok(None),
                Top::Found(kind, _, _) => return Ok(Some(kind)),
                Top::Other => {}
            }
        }
        let Some(file) = self.open_key(key, Access::Stat)? else {
            return Ok(None);
        };
        let meta = file.metadata().map_err(|e| self.key_err(key, e))?;
        Ok(kind_of(&meta))
    }

    async fn get(&self, key: &Key) -> Result<Bytes, KvError> {
        let (mut file, len) = self.open_value(key)?;
        let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut data)
            .map_err(|e| self.key_err(key, e))?;
        Ok(Bytes::from(data))
    }

    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
        let (file, len) = self.open_value(key)?;
        if offset >= len {
            return Ok(Bytes::new());
        }
        let want = usize::try_from(len - offset)
            .unwrap_or(usize::MAX)
            .min(length);
        let mut buf = vec![0u8; want];
        let mut got = 0;
        while got < want {
            match file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break, // The file shrank meanwhile.
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.key_err(key, e)),
            }
        }
        buf.truncate(got);
        Ok(Bytes::from(buf))
    }

    /// The open file (one `openat2` and one `fstat`), which the host
    /// stack sends with `sendfile(2)`: see [`super::FileRegion`].
    async fn region(&self, key: &Key, offset: u64, length: u64) -> Result<Option<Region>, KvError> {
        self.lend(key, offset, length).map(Some)
    }

    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> {
        let path = self.dictionary_path(key)?;
        Ok(self
            .entries(&path)?
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect())
    }

    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> {
        match self.locate(key)? {
            (path, Some(kind)) => Ok(posix(self.newest(&path, kind)?)),
            (_, None) => Err(KvError::NotFound(key.clone())),
        }
    }

    async fn digest(&self, key: &Key) -> Result<Digest, KvError> {
        match self.locate(key)? {
            (path, Some(kind)) => {
                let d = digest::of(self, &path, kind)?;
                Ok(Digest::new(&d).expect("32 bytes fit"))
            }
            (_, None) => Err(KvError::NotFound(key.clone())),
        }
    }

    async fn size(&self, key: &Key) -> Result<u64, KvError> {
        Ok(self.open_value(key)?.1)
    }

    /// One `openat2` and one `fstat` for a value; a dictionary's time is
    /// the newest in its tree, as [`KvRo::last_modified`] says.
    async fn metadata(&self, key: &Key) -> Result<Metadata, KvError> {
        if key.is_root() || super::is_reserved(key) {
            let kind = self
                .kind(key)?
                .ok_or_else(|| KvError::NotFound(key.clone()))?;
            let modified = self.last_modified(key).await?;
            return Ok(Metadata::new(kind, 0, modified));
        }
        if let [name] = key.segments() {
            match self.stat_top(name)? {
                Top::Missing => return Err(KvError::NotFound(key.clone())),
                Top::Found(EntryKind::Value, size, modified) => {
                    return Ok(Metadata::new(EntryKind::Value, size, modified));
                }
                Top::Found(EntryKind::Dictionary, _, _) => {
                    let path = self.path(key)?;
                    let modified = posix(self.newest(&path, EntryKind::Dictionary)?);
                    return Ok(Metadata::new(EntryKind::Dictionary, 0, modified));
                }
                Top::Other => {}
            }
        }
        let Some(file) = self.open_key(key, Access::Stat)? else {
            return Err(KvError::NotFound(key.clone()));
        };
        let meta = file.metadata().map_err(|e| self.key_err(key, e))?;
        match kind_of(&meta) {
            Some(EntryKind::Value) => {
                let modified = meta.modified().map_err(|e| self.key_err(key, e))?;
                Ok(Metadata::new(EntryKind::Value, meta.len(), posix(modified)))
            }
            Some(EntryKind::Dictionary) => {
                let path = self.path(key)?;
                let modified = posix(self.newest(&path, EntryKind::Dictionary)?);
                Ok(Metadata::new(EntryKind::Dictionary, 0, modified))
            }
            None => Err(KvError::NotFound(key.clone())),
        }
    }
}

/// What a file is to the store: a regular file is a value, a directory a
/// dictionary, anything else nothing.
fn kind_of(meta: &fs::Metadata) -> Option<EntryKind> {
    if meta.is_file() {
        Some(EntryKind::Value)
    } else if meta.is_dir() {
        Some(EntryKind::Dictionary)
    } else {
        None
    }
}
