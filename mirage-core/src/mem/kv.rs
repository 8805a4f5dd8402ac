//! [`MemKv`]: a key-value store in memory.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::cell::RefCell;
use core::ops::Bound;

use crate::key::Key;
use crate::kv::{Change, Digest, EntryKind, KvError, KvRo, KvRw};
use crate::region::Region;
use crate::time::{PosixTime, WallClock};

#[derive(Debug, Clone)]
struct Value {
    data: Bytes,
    modified: PosixTime,
}

type Map = BTreeMap<Key, Value>;

/// A [`KvRw`] in memory. Dictionaries exist while they hold a value, as in
/// Git. Every operation, and every [`KvRw::batch`], is atomic: it checks
/// everything first and changes nothing on error. Digests are a 64-bit
/// FNV-1a hash (fine for ETags, not for security). Clones share the store.
#[derive(Clone)]
pub struct MemKv {
    map: Rc<RefCell<Map>>,
    clock: Option<Rc<dyn WallClock>>,
    max_value_len: usize,
}

impl core::fmt::Debug for MemKv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemKv")
            .field("values", &self.map.borrow().len())
            .finish()
    }
}

impl Default for MemKv {
    fn default() -> Self {
        MemKv {
            map: Rc::default(),
            clock: None,
            max_value_len: 1 << 30,
        }
    }
}

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn entries_under<'a>(
    map: &'a Map,
    key: &'a Key,
) -> impl Iterator<Item = (&'a Key, &'a Value)> + 'a {
    map.range((Bound::Included(key.clone()), Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(key))
}

fn kind(map: &Map, key: &Key) -> Option<EntryKind> {
    if key.is_root() {
        return Some(EntryKind::Dictionary);
    }
    if map.contains_key(key) {
        return Some(EntryKind::Value);
    }
    entries_under(map, key)
        .next()
        .map(|_| EntryKind::Dictionary)
}

fn check_writable(map: &Map, key: &Key) -> Result<(), KvError> {
    if key.is_root() {
        return Err(KvError::ValueExpected(key.clone()));
    }
    let mut prefix = Key::root();
    for seg in &key.segments()[..key.segments().len() - 1] {
        prefix = prefix
            .join(seg.as_str())
            .map_err(|_| KvError::NotFound(key.clone()))?;
        if map.contains_key(&prefix) {
            return Err(KvError::DictionaryExpected(prefix));
        }
    }
    if kind(map, key) == Some(EntryKind::Dictionary) {
        return Err(KvError::ValueExpected(key.clone()));
    }
    Ok(())
}

fn remove_under(map: &mut Map, key: &Key) {
    if key.is_root() {
        map.clear();
        return;
    }
    let doomed: Vec<Key> = entries_under(map, key).map(|(k, _)| k.clone()).collect();
    for k in doomed {
        map.remove(&k);
    }
}

impl MemKv {
    /// An empty store whose modification times come from `clock`.
    pub fn new(clock: impl WallClock + 'static) -> Self {
        MemKv {
            clock: Some(Rc::new(clock)),
            ..MemKv::default()
        }
    }

    /// An empty store that refuses values longer than `max` bytes with
    /// [`KvError::NoSpace`] (the default is 1 GiB), so a `set_partial` at a
    /// huge offset cannot exhaust memory.
    pub fn with_max_value_len(mut self, max: usize) -> Self {
        self.max_value_len = max;
        self
    }

    fn now(&self) -> PosixTime {
        self.clock
            .as_ref()
            .map_or(PosixTime::EPOCH, |c| c.now_posix())
    }

    /// The number of values stored.
    pub fn len(&self) -> usize {
        self.map.borrow().len()
    }

    /// Whether the store holds no value.
    pub fn is_empty(&self) -> bool {
        self.map.borrow().is_empty()
    }

    fn apply(&self, map: &mut Map, change: Change, now: PosixTime) -> Result<(), KvError> {
        match change {
            Change::Set(key, data) => {
                check_writable(map, &key)?;
                if data.len() > self.max_value_len {
                    return Err(KvError::NoSpace);
                }
                map.insert(
                    key,
                    Value {
                        data,
                        modified: now,
                    },
                );
            }
            Change::Remove(key) => remove_under(map, &key),
        }
        Ok(())
    }
}

impl KvRo for MemKv {
    async fn exists(&self, key: &Key) -> Result<Option<EntryKind>, KvError> {
        Ok(kind(&self.map.borrow(), key))
    }

    async fn get(&self, key: &Key) -> Result<Bytes, KvError> {
        let map = self.map.borrow();
        match map.get(key) {
            Some(v) => Ok(v.data.clone()),
            None if kind(&map, key).is_some() => Err(KvError::ValueExpected(key.clone())),
            None => Err(KvError::NotFound(key.clone())),
        }
    }

    async fn get_partial(&self, key: &Key, offset: u64, length: usize) -> Result<Bytes, KvError> {
        let data = self.get(key).await?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = start.saturating_add(length).min(data.len());
        Ok(data.slice(start..end))
    }

    /// Lends the bytes in memory, shared, not copied.
    async fn region(&self, key: &Key, offset: u64, length: u64) -> Result<Option<Region>, KvError> {
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        let bytes = self.get_partial(key, offset, length).await?;
        Ok(Some(Region::from_bytes(bytes)))
    }

    async fn list(&self, key: &Key) -> Result<Vec<(String, EntryKind)>, KvError> {
        let map = self.map.borrow();
        match kind(&map, key) {
            None => return Err(KvError::NotFound(key.clone())),
            Some(EntryKind::Value) => return Err(KvError::DictionaryExpected(key.clone())),
            Some(EntryKind::Dictionary) => {}
        }
        let depth = key.segments().len();
        let mut out: Vec<(String, EntryKind)> = Vec::new();
        for (k, _) in entries_under(&map, key) {
            let name = &k.segments()[depth];
            let kind = if k.segments().len() == depth + 1 {
                EntryKind::Value
            } else {
                EntryKind::Dictionary
            };
            if out.last().map(|(n, _)| n != name).unwrap_or(true) {
                out.push((name.clone(), kind));
            }
        }
        Ok(out)
    }

    async fn last_modified(&self, key: &Key) -> Result<PosixTime, KvError> {
        let map = self.map.borrow();
        if let Some(v) = map.get(key) {
            return Ok(v.modified);
        }
        entries_under(&map, key)
            .map(|(_, v)| v.modified)
            .max()
            .ok_or_else(|| KvError::NotFound(key.clone()))
    }

    async fn digest(&self, key: &Key) -> Result<Digest, KvError> {
        let map = self.map.borrow();
        let h = if let Some(v) = map.get(key) {
            fnv1a(fnv1a(FNV_OFFSET, b"value\0"), &v.data)
        } else {
            let mut h = fnv1a(FNV_OFFSET, b"dictionary\0");
            let mut any = false;
            for (k, v) in entries_under(&map, key) {
                any = true;
                for seg in &k.segments()[key.segments().len()..] {
                    h = fnv1a(h, seg.as_bytes());
                    h = fnv1a(h, b"/");
                }
                h = fnv1a(h, &(v.data.len() as u64).to_le_bytes());
                h = fnv1a(h, &v.data);
            }
            if !any && !key.is_root() {
                return Err(KvError::NotFound(key.clone()));
            }
            h
        };
        Ok(Digest::new(&h.to_be_bytes()).expect("8 bytes fit"))
    }

    async fn size(&self, key: &Key) -> Result<u64, KvError> {
        Ok(self.get(key).await?.len() as u64)
    }
}

impl KvRw for MemKv {
    async fn set(&self, key: &Key, value: Bytes) -> Result<(), KvError> {
        let now = self.now();
        let mut map = self.map.borrow_mut();
        self.apply(&mut map, Change::Set(key.clone(), value), now)
    }

    async fn set_partial(&self, key: &Key, offset: u64, data: &[u8]) -> Result<(), KvError> {
        let now = self.now();
        let mut map = self.map.borrow_mut();
        check_writable(&map, key)?;
        let start = usize::try_from(offset).map_err(|_| KvError::NoSpace)?;
        let end = start.checked_add(data.len()).ok_or(KvError::NoSpace)?;
        if end > self.max_value_len {
            return Err(KvError::NoSpace);
        }
        let old = map.get(key).map(|v| v.data.clone()).unwrap_or_default();
        let mut buf = BytesMut::with_capacity(end.max(old.len()));
        buf.extend_from_slice(&old);
        if buf.len() < end {
            buf.resize(end, 0);
        }
        buf[start..end].copy_from_slice(data);
        map.insert(
            key.clone(),
            Value {
                data: buf.freeze(),
                modified: now,
            },
        );
        Ok(())
    }

    async fn remove(&self, key: &Key) -> Result<(), KvError> {
        remove_under(&mut self.map.borrow_mut(), key);
        Ok(())
    }

    async fn rename(&self, source: &Key, dest: &Key) -> Result<(), KvError> {
        let now = self.now();
        let mut map = self.map.borrow_mut();
        let src_kind = kind(&map, source).ok_or_else(|| KvError::NotFound(source.clone()))?;
        if source == dest {
            return Ok(());
        }
        if dest.starts_with(source) || source.is_root() {
            return Err(KvError::RenameIntoItself {
                from: source.clone(),
                dest: dest.clone(),
            });
        }
        let mut next = map.clone();
        match src_kind {
            EntryKind::Value => {
                let v = next.remove(source).expect("value exists");
                check_writable(&next, dest)?;
                next.insert(
                    dest.clone(),
                    Value {
                        data: v.data,
                        modified: now,
                    },
                );
            }
            EntryKind::Dictionary => {
                if kind(&next, dest) == Some(EntryKind::Dictionary) {
                    return Err(KvError::ValueExpected(dest.clone()));
                }
                let moved: Vec<(Key, Value)> = entries_under(&next, source)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                remove_under(&mut next, source);
                next.remove(dest);
                for (k, v) in moved {
                    let rel = k.strip_prefix(source).expect("under source");
                    let nk = dest
                        .append(&rel)
                        .map_err(|_| KvError::NotFound(k.clone()))?;
                    check_writable(&next, &nk)?;
                    next.insert(
                        nk,
                        Value {
                            data: v.data,
                            modified: now,
                        },
                    );
                }
            }
        }
        *map = next;
        Ok(())
    }

    async fn batch(&self, changes: Vec<Change>) -> Result<(), KvError> {
        let now = self.now();
        let mut map = self.map.borrow_mut();
        let mut next = map.clone();
        for c in changes {
            self.apply(&mut next, c, now)?;
        }
        *map = next;
        Ok(())
    }
}
