//! A bounded cache of decoded objects. Objects never change once written,
//! so a cached copy is always right; the cache only spares inflating and
//! delta-resolving the same trees and commits again and again.

use std::collections::HashMap;

use gix_hash::{ObjectId, oid};

use crate::object::RawObject;

/// Objects by id, up to a total number of bytes; emptied when full.
#[derive(Debug, Default)]
pub struct ObjectCache {
    map: HashMap<ObjectId, RawObject>,
    bytes: usize,
    limit: usize,
}

impl ObjectCache {
    /// A cache holding up to `limit` bytes of object data (0 disables it).
    pub fn new(limit: usize) -> Self {
        ObjectCache {
            map: HashMap::new(),
            bytes: 0,
            limit,
        }
    }

    /// The cached object `id`, sharing its bytes.
    pub fn get(&self, id: &oid) -> Option<RawObject> {
        self.map.get(id).cloned()
    }

    /// Remembers `object`, unless it is larger than a sixteenth of the cache.
    pub fn put(&mut self, id: ObjectId, object: &RawObject) {
        let len = object.data.len();
        if len > self.limit / 16 {
            return;
        }
        if self.bytes + len > self.limit {
            // Simple and bounded: start over rather than track recency.
            self.map.clear();
            self.bytes = 0;
        }
        if self.map.insert(id, object.clone()).is_none() {
            self.bytes += len;
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::object::ObjectKind;

    #[test]
    fn stays_within_its_limit() {
        let mut cache = ObjectCache::new(1600);
        for i in 0..100u8 {
            let id = ObjectId::from_bytes_or_panic(&[i; 20]);
            let object = RawObject {
                kind: ObjectKind::Blob,
                data: vec![i; 100].into(),
            };
            cache.put(id, &object);
            assert_eq!(cache.get(&id), Some(object));
            assert!(cache.bytes <= 1600);
        }
        let big = RawObject {
            kind: ObjectKind::Blob,
            data: vec![0; 101].into(),
        };
        let id = ObjectId::from_bytes_or_panic(&[200; 20]);
        cache.put(id, &big);
        assert_eq!(cache.get(&id), None);
    }
}
