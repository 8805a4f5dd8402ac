//! What a [`super::StaticSite`] remembers about each value between
//! requests: its digest and ready-made `ETag` and `Last-Modified` values,
//! and, for small values, the bytes themselves.
//!
//! An entry holds while the store reports the same size and modification
//! time for the key; a rewrite that keeps both (within the store's time
//! resolution) goes unseen until either changes, as with nginx's own
//! `ETag` (time and size) and its `open_file_cache`.

use std::collections::HashMap;

use bytes::Bytes;
use mirage_core::{Digest, Key, PosixTime};

use crate::date::imf_fixdate;

/// Most keys remembered; the memo is emptied when it fills.
const CAPACITY: usize = 4096;

/// What is remembered about one value.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The size it was remembered at.
    pub size: u64,
    /// The modification time it was remembered at.
    pub modified: PosixTime,
    /// `"<hex digest>"`.
    pub etag: Bytes,
    /// The IMF-fixdate of `modified`.
    pub last_modified: Bytes,
    /// The whole value, when small enough to keep.
    pub body: Option<Bytes>,
}

impl Entry {
    /// An entry without a body.
    pub fn new(size: u64, modified: PosixTime, digest: &Digest) -> Self {
        Entry {
            size,
            modified,
            etag: Bytes::from(format!("\"{digest}\"")),
            last_modified: Bytes::from(imf_fixdate(modified)),
            body: None,
        }
    }
}

/// The entries, and the bytes of bodies they hold within a budget.
#[derive(Debug)]
pub(super) struct Memo {
    entries: HashMap<Key, Entry>,
    body_bytes: usize,
    budget: usize,
}

impl Memo {
    /// An empty memo keeping at most `budget` bytes of bodies.
    pub fn new(budget: usize) -> Self {
        Memo {
            entries: HashMap::new(),
            body_bytes: 0,
            budget,
        }
    }

    /// The entry of `key`, if it was made for this size and time.
    pub fn get(&self, key: &Key, size: u64, modified: PosixTime) -> Option<&Entry> {
        self.entries
            .get(key)
            .filter(|e| (e.size, e.modified) == (size, modified))
    }

    /// Remembers `entry` for `key`, replacing what was there.
    pub fn insert(&mut self, key: &Key, entry: Entry) {
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(key) {
            self.entries.clear();
            self.body_bytes = 0;
        }
        let added = entry.body.as_ref().map_or(0, Bytes::len);
        if let Some(old) = self.entries.insert(key.clone(), entry) {
            self.body_bytes -= old.body.as_ref().map_or(0, Bytes::len);
        }
        self.body_bytes += added;
    }

    /// Whether a body of `len` bytes may be kept.
    pub fn has_room_for(&self, len: usize) -> bool {
        len <= self.budget
    }

    /// Keeps `body`, read for the given size and time, in the entry of
    /// `key` if that entry is still for them; first drops every other body
    /// if the budget would be exceeded.
    pub fn keep_body(&mut self, key: &Key, modified: PosixTime, body: Bytes) {
        let size = body.len() as u64;
        if !self.has_room_for(body.len()) || self.get(key, size, modified).is_none() {
            return;
        }
        if self.body_bytes + body.len() > self.budget {
            for e in self.entries.values_mut() {
                e.body = None;
            }
            self.body_bytes = 0;
        }
        if let Some(e) = self.entries.get_mut(key) {
            if let Some(old) = e.body.replace(body.clone()) {
                self.body_bytes -= old.len();
            }
            self.body_bytes += body.len();
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    #[test]
    fn test_entries_hold_while_size_and_time_do() {
        let d = Digest::new(&[0xab, 0xcd]).unwrap();
        let t = PosixTime::from_secs(784_111_777);
        let mut m = Memo::new(100);
        m.insert(&key("a"), Entry::new(3, t, &d));
        let e = m.get(&key("a"), 3, t).unwrap();
        assert_eq!(&e.etag[..], b"\"abcd\"");
        assert_eq!(&e.last_modified[..], b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(m.get(&key("a"), 4, t).is_none());
        assert!(m.get(&key("a"), 3, PosixTime::from_secs(1)).is_none());
        assert!(m.get(&key("b"), 3, t).is_none());
    }

    #[test]
    fn test_bodies_stay_within_the_budget() {
        let d = Digest::new(&[1]).unwrap();
        let t = PosixTime::from_secs(0);
        let mut m = Memo::new(10);
        for k in ["a", "b", "c"] {
            m.insert(&key(k), Entry::new(4, t, &d));
            m.keep_body(&key(k), t, Bytes::from_static(b"1234"));
            assert!(m.body_bytes <= 10);
        }
        // Keeping c's body dropped a's and b's.
        assert!(m.get(&key("a"), 4, t).unwrap().body.is_none());
        assert!(m.get(&key("c"), 4, t).unwrap().body.is_some());
        assert_eq!(m.body_bytes, 4);
        // Replacing an entry gives its body's bytes back.
        m.insert(&key("c"), Entry::new(5, t, &d));
        assert_eq!(m.body_bytes, 0);
        // Read for another size or time: not kept.
        m.keep_body(&key("c"), t, Bytes::from_static(b"1234"));
        m.keep_body(
            &key("c"),
            PosixTime::from_secs(1),
            Bytes::from_static(b"12345"),
        );
        assert!(m.get(&key("c"), 5, t).unwrap().body.is_none());
        // Too big for the budget: not kept.
        m.insert(&key("d"), Entry::new(11, t, &d));
        m.keep_body(&key("d"), t, Bytes::from_static(b"12345678901"));
        assert!(m.get(&key("d"), 11, t).unwrap().body.is_none());
        assert!(!m.has_room_for(11));
    }
}
