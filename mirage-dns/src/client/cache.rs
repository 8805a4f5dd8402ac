//! [`Cache`]: a small, bounded store of answers keyed by (name, type),
//! each kept for its TTL on the monotonic clock.

use std::collections::HashMap;
use std::time::Duration;

use mirage_core::Instant;

use super::answer::{Answer, Status};
use crate::wire::{Name, Type};

struct Entry {
    answer: Answer,
    stored: Instant,
    expires: Instant,
}

/// Answers remembered until their TTL runs out, at most `capacity` of them.
///
/// Names compare without case, so `WWW.example.com` finds what
/// `www.example.com` stored. When full, expired entries go first, then the
/// one closest to expiry. Time is passed in, so the cache follows whatever
/// clock the resolver has, virtual ones included.
pub struct Cache {
    entries: HashMap<(Name, Type), Entry>,
    capacity: usize,
    max_ttl: u32,
    max_negative_ttl: u32,
}

impl core::fmt::Debug for Cache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cache")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Cache {
    /// An empty cache of at most `capacity` answers; positive answers are
    /// kept at most `max_ttl` seconds, negative ones `max_negative_ttl`.
    pub fn new(capacity: usize, max_ttl: u32, max_negative_ttl: u32) -> Cache {
        Cache {
            entries: HashMap::new(),
            capacity,
            max_ttl,
            max_negative_ttl,
        }
    }

    /// Answers held, expired ones included until they are pushed out.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The answer for (`name`, `rtype`) if it has not expired at `now`, its
    /// TTLs lowered by the seconds it has been held.
    pub fn get(&mut self, name: &Name, rtype: Type, now: Instant) -> Option<Answer> {
        let key = (name.clone(), rtype);
        let entry = self.entries.get(&key)?;
        if now >= entry.expires {
            self.entries.remove(&key);
            return None;
        }
        let held = (now - entry.stored).as_secs();
        let mut answer = entry.answer.aged(u32::try_from(held).unwrap_or(u32::MAX));
        // Asked in another case: answer with the name as asked now.
        answer.name = name.clone();
        Some(answer)
    }

    /// Remembers `answer` from `now` for its TTL (capped); an answer with a
    /// TTL of 0 is not kept.
    pub fn insert(&mut self, answer: &Answer, now: Instant) {
        let cap = match answer.status {
            Status::Records => self.max_ttl,
            Status::NoData | Status::NxDomain => self.max_negative_ttl,
        };
        let ttl = answer.ttl.min(cap);
        if ttl == 0 || self.capacity == 0 {
            return;
        }
        let key = (answer.name.clone(), answer.rtype);
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, e| e.expires > now);
            if self.entries.len() >= self.capacity {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    self.entries.remove(&k);
                }
            }
        }
        let mut stored = answer.clone();
        stored.ttl = ttl;
        // No record outlives the answer that carries it.
        for r in stored
            .chain
            .iter_mut()
            .chain(&mut stored.records)
            .chain(&mut stored.soa)
        {
            r.ttl = r.ttl.min(ttl);
        }
        self.entries.insert(
            key,
            Entry {
                answer: stored,
                stored: now,
                expires: now + Duration::from_secs(u64::from(ttl)),
            },
        );
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
