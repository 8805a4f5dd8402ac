//! Batches: validate, stage, journal, apply; and recovery after a crash.
//!
//! A batch lives in `.dirkv/batch-ID/` next to a lock file
//! `.dirkv/batch-ID.lock` that its writer holds (`flock`) while it works.
//! The directory holds the staged values (named by their index in the
//! batch), then `journal` (the commit point) and `progress` (one byte per
//! change applied). Recovery skips batches whose lock is held, so several
//! instances can share a store.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mirage_core::{Change, EntryKind, Key, KvError};

use super::write::has_values;
use super::{DirKv, DirKvError, RESERVED, io_err, is_missing, sync_dir};
use crate::sys;

/// Temporary files older than this, left in `.dirkv` by a crash, are removed
/// when the store is opened.
const STALE: Duration = Duration::from_secs(3600);

/// One change as recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// Install staged file `index` at the key.
    Set(usize, Key),
    /// Remove the key.
    Remove(Key),
}

fn encode(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Set(i, k) => {
                out.push(b'S');
                out.extend_from_slice(i.to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(k.to_string().as_bytes());
            }
            Op::Remove(k) => {
                out.push(b'R');
                out.extend_from_slice(k.to_string().as_bytes());
            }
        }
        out.push(0);
    }
    out
}

fn decode(data: &[u8]) -> Option<Vec<Op>> {
    let body = data.strip_suffix(&[0])?;
    let mut ops = Vec::new();
    for rec in body.split(|&b| b == 0) {
        let text = std::str::from_utf8(rec.get(1..)?).ok()?;
        ops.push(match rec.first()? {
            b'S' => {
                let (i, k) = text.split_once(' ')?;
                Op::Set(i.parse().ok()?, Key::parse(k).ok()?)
            }
            b'R' => Op::Remove(Key::parse(text).ok()?),
            _ => return None,
        });
    }
    Some(ops)
}

fn key_of(c: &Change) -> &Key {
    match c {
        Change::Set(k, _) | Change::Remove(k) => k,
    }
}

/// The store as it would be after some of a batch's changes, for checking
/// the next one without touching the disk.
struct Sim<'a> {
    kv: &'a DirKv,
    done: Vec<&'a Change>,
}

impl<'a> Sim<'a> {
    /// Whether `p` would be a value.
    fn is_value(&self, p: &Key) -> Result<bool, KvError> {
        let mut v = self.kv.kind(p)? == Some(EntryKind::Value);
        for c in &self.done {
            match c {
                Change::Set(k, _) if k == p => v = true,
                Change::Set(k, _) if k.starts_with(p) || p.starts_with(k) => v = false,
                Change::Remove(k) if p.starts_with(k) => v = false,
                _ => {}
            }
        }
        Ok(v)
    }

    /// Whether `p` would be a dictionary holding at least one value.
    fn holds_values(&self, p: &Key) -> Result<bool, KvError> {
        let touched = self
            .done
            .iter()
            .any(|c| key_of(c).starts_with(p) || p.starts_with(key_of(c)));
        let on_disk = self.kv.kind(p)? == Some(EntryKind::Dictionary);
        if !touched {
            return Ok(on_disk && has_values(&self.kv.checked_path(p)?)?);
        }
        let mut values = BTreeSet::new();
        if on_disk {
            self.kv
                .collect_values(p, &self.kv.checked_path(p)?, &mut values)?;
        }
        for c in &self.done {
            match c {
                Change::Set(k, _) if k.starts_with(p) && k != p => {
                    values.insert(k.clone());
                }
                Change::Set(k, _) | Change::Remove(k) if p.starts_with(k) => values.clear(),
                Change::Remove(k) => values.retain(|v| !v.starts_with(k)),
                Change::Set(..) => {}
            }
        }
        Ok(!values.is_empty())
    }

    /// Checks `c` against the simulated store, then records it.
    fn check(&mut self, c: &'a Change) -> Result<(), KvError> {
        let key = key_of(c);
        self.kv.path(key)?;
        if let Change::Set(..) = c {
            if key.is_root() {
                return Err(KvError::ValueExpected(key.clone()));
            }
            self.kv.checked_path(key)?;
            let mut prefix = Key::root();
            for seg in &key.segments()[..key.segments().len() - 1] {
                prefix = prefix
                    .join(seg.as_str())
                    .map_err(|_| KvError::NotFound(key.clone()))?;
                if self.is_value(&prefix)? {
                    return Err(KvError::DictionaryExpected(prefix));
                }
            }
            if self.holds_values(key)? {
                return Err(KvError::ValueExpected(key.clone()));
            }
        }
        self.done.push(c);
        Ok(())
    }
}

impl DirKv {
    /// Adds the keys of all values under the dictionary `key` (at `path`).
    fn collect_values(
        &self,
        key: &Key,
        path: &Path,
        out: &mut BTreeSet<Key>,
    ) -> Result<(), KvError> {
        for e in self.entries(path)? {
            let k = key
                .join(e.name.as_str())
                .map_err(|_| KvError::NotFound(key.clone()))?;
            match e.kind {
                EntryKind::Value => {
                    out.insert(k);
                }
                EntryKind::Dictionary => self.collect_values(&k, &e.path, out)?,
            }
        }
        Ok(())
    }

    /// Applies one journalled change; safe to repeat for a `Set` whose
    /// staged file is gone (it was applied).
    fn apply(&self, dir: &Path, op: &Op) -> Result<(), KvError> {
        match op {
            Op::Set(i, key) => {
                let staged = dir.join(i.to_string());
                if !staged.exists() {
                    return Ok(());
                }
                let path = self.path(key)?;
                let empty_dir = self.kind(key)? == Some(EntryKind::Dictionary);
                let target = super::write::Target { path, empty_dir };
                self.install(key, &target, &staged)
            }
            Op::Remove(key) if key.is_root() => {
                for e in self.entries(&self.root)? {
                    self.remove_path(&e.path, e.kind)?;
                }
                Ok(())
            }
            Op::Remove(key) => match self.kind(key)? {
                None => Ok(()),
                Some(kind) => self.remove_path(&self.path(key)?, kind),
            },
        }
    }

    /// Applies `ops` from `progress.len()` on, recording each in `progress`.
    fn apply_all(&self, dir: &Path, ops: &[Op]) -> Result<(), KvError> {
        let progress_path = dir.join("progress");
        let mut progress = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&progress_path)
            .map_err(|e| io_err(&progress_path, e))?;
        let done = progress
            .metadata()
            .map_err(|e| io_err(&progress_path, e))?
            .len();
        let done = usize::try_from(done).unwrap_or(usize::MAX);
        for op in ops.iter().skip(done) {
            self.apply(dir, op)?;
            progress
                .write_all(b".")
                .and_then(|()| progress.sync_data())
                .map_err(|e| io_err(&progress_path, e))?;
        }
        Ok(())
    }
}

/// The lock file of the batch directory `dir`.
fn lock_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    dir.with_file_name(name)
}

/// Validates, stages, commits and applies `changes`.
pub(super) fn run(kv: &DirKv, changes: Vec<Change>) -> Result<(), KvError> {
    let mut sim = Sim {
        kv,
        done: Vec::new(),
    };
    for c in &changes {
        sim.check(c)?;
    }
    drop(sim);
    if changes.is_empty() {
        return Ok(());
    }
    let reserved = kv.ensure_reserved()?;
    let dir = reserved.join(kv.fresh_name("batch"));
    let lock_file = lock_path(&dir);
    let lock = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock_file)
        .map_err(|e| io_err(&lock_file, e))?;
    if !sys::try_lock_exclusive(&lock).map_err(|e| io_err(&lock_file, e))? {
        return Err(KvError::Conflict);
    }
    let result = stage_and_apply(kv, &dir, changes);
    if result.is_ok() || !dir.join("journal").exists() {
        // Done, or never committed: nothing to keep.
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_file(&lock_file);
        let _ = sync_dir(&reserved);
    }
    drop(lock);
    result
}

fn stage_and_apply(kv: &DirKv, dir: &Path, changes: Vec<Change>) -> Result<(), KvError> {
    fs::create_dir(dir).map_err(|e| io_err(dir, e))?;
    let mut ops = Vec::with_capacity(changes.len());
    for (i, c) in changes.into_iter().enumerate() {
        match c {
            Change::Set(key, value) => {
                let staged = dir.join(i.to_string());
                let mut f = fs::File::create_new(&staged).map_err(|e| io_err(&staged, e))?;
                f.write_all(&value)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| io_err(&staged, e))?;
                ops.push(Op::Set(i, key));
            }
            Change::Remove(key) => ops.push(Op::Remove(key)),
        }
    }
    let tmp = dir.join("journal.tmp");
    let journal = dir.join("journal");
    let mut f = fs::File::create_new(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(&encode(&ops))
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err(&tmp, e))?;
    sync_dir(dir)?;
    fs::rename(&tmp, &journal).map_err(|e| io_err(&journal, e))?;
    sync_dir(dir)?; // The commit point.
    sync_dir(dir.parent().unwrap_or(dir))?;
    kv.apply_all(dir, &ops)
}

/// Completes committed batches and discards uncommitted ones that a crash
/// left behind, skipping those another live writer holds; removes stale
/// temporary files.
pub(super) fn recover(kv: &DirKv) -> Result<(), DirKvError> {
    let reserved = kv.root.join(RESERVED);
    let rd = match fs::read_dir(&reserved) {
        Ok(rd) => rd,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(e) => {
            return Err(DirKvError::Io {
                path: reserved,
                source: e,
            });
        }
    };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| DirKvError::Io { path, source }
    };
    for ent in rd {
        let ent = ent.map_err(io(&reserved))?;
        let path = ent.path();
        let name = ent.file_name().to_string_lossy().into_owned();
        let is_dir = ent.file_type().map_err(io(&path))?.is_dir();
        if name.starts_with("batch-") && is_dir {
            recover_batch(kv, &path)?;
        } else if name.starts_with("tmp-") || name.starts_with("trash-") {
            let age = ent
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            if age.is_some_and(|a| a > STALE) {
                let _ = if is_dir {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
    Ok(())
}

fn recover_batch(kv: &DirKv, dir: &Path) -> Result<(), DirKvError> {
    let lock_file = lock_path(dir);
    let lock = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_file)
        .map_err(|source| DirKvError::Io {
            path: lock_file.clone(),
            source,
        })?;
    let held = sys::try_lock_exclusive(&lock).map_err(|source| DirKvError::Io {
        path: lock_file.clone(),
        source,
    })?;
    if !held {
        return Ok(()); // A live writer's.
    }
    if !dir.exists() {
        // Finished meanwhile; the lock file may be one this call re-made.
        let _ = fs::remove_file(&lock_file);
        return Ok(());
    }
    let journal = dir.join("journal");
    match fs::read(&journal) {
        Ok(data) => {
            let ops = decode(&data).ok_or_else(|| DirKvError::CorruptJournal(journal.clone()))?;
            log::info!(
                "{}: completing a batch of {} changes interrupted by a crash",
                kv.root.display(),
                ops.len()
            );
            kv.apply_all(dir, &ops)
                .map_err(|e| DirKvError::Recover(Box::new(e)))?;
        }
        Err(e) if is_missing(&e) => {
            log::info!(
                "{}: discarding an uncommitted batch left by a crash",
                kv.root.display()
            );
        }
        Err(source) => {
            return Err(DirKvError::Io {
                path: journal,
                source,
            });
        }
    }
    fs::remove_dir_all(dir).map_err(|source| DirKvError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let _ = fs::remove_file(&lock_file);
    drop(lock);
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn journal_round_trip() {
        let ops = vec![
            Op::Set(0, Key::parse("a/b c/\n").unwrap()),
            Op::Remove(Key::root()),
            Op::Remove(Key::parse("x").unwrap()),
            Op::Set(12, Key::parse("y").unwrap()),
        ];
        assert_eq!(decode(&encode(&ops)), Some(ops));
        assert_eq!(decode(b"Sx /a\0"), None);
        assert_eq!(decode(b"Q/a\0"), None);
        assert_eq!(decode(b"R/a"), None);
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(data: Vec<u8>) -> bool {
            let _ = decode(&data);
            true
        }
    }
}
