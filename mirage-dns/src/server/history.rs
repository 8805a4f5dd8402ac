//! The recent versions of each zone as differences, for IXFR (RFC 1995):
//! recorded whenever the zone set is swapped, bounded in count and size.

use std::collections::{HashMap, HashSet, VecDeque};

use super::zoneset::ZoneSet;
use crate::wire::{Name, Record, Type};
use crate::zone::Zone;

/// What changed from one serial of a zone to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The SOA record before.
    pub from: Record,
    /// The SOA record after.
    pub to: Record,
    /// Records removed (SOA excluded).
    pub removed: Vec<Record>,
    /// Records added (SOA excluded).
    pub added: Vec<Record>,
}

impl Diff {
    /// The differences from `old` to `new` (same origin).
    pub fn between(old: &Zone, new: &Zone) -> Diff {
        let not_soa = |r: &&Record| r.rtype() != Type::SOA;
        let key = |r: &Record| (r.name.as_wire().to_ascii_lowercase(), rdata_bytes(r));
        let olds: HashSet<_> = old.records().iter().filter(not_soa).map(key).collect();
        let news: HashSet<_> = new.records().iter().filter(not_soa).map(key).collect();
        let same_ttl = |r: &Record, other: &Zone| {
            other
                .records()
                .iter()
                .any(|o| o.name == r.name && o.data == r.data && o.ttl == r.ttl)
        };
        // A record whose TTL changed is removed and added again.
        let removed = old
            .records()
            .iter()
            .filter(not_soa)
            .filter(|r| !news.contains(&key(r)) || !same_ttl(r, new))
            .cloned()
            .collect();
        let added = new
            .records()
            .iter()
            .filter(not_soa)
            .filter(|r| !olds.contains(&key(r)) || !same_ttl(r, old))
            .cloned()
            .collect();
        Diff {
            from: old.soa_record().clone(),
            to: new.soa_record().clone(),
            removed,
            added,
        }
    }

    fn serial(r: &Record) -> u32 {
        match &r.data {
            crate::wire::RData::Soa(s) => s.serial,
            _ => 0,
        }
    }

    /// The serial before.
    pub fn from_serial(&self) -> u32 {
        Diff::serial(&self.from)
    }

    /// The serial after.
    pub fn to_serial(&self) -> u32 {
        Diff::serial(&self.to)
    }

    fn size(&self) -> usize {
        2 + self.removed.len() + self.added.len()
    }
}

/// A record's data on the wire, as a hashable key.
fn rdata_bytes(r: &Record) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = crate::wire::Writer::new(&mut buf);
    w.u16(r.rtype().0);
    // Data that cannot be emitted cannot be sent either; it keys as its type.
    let _ = r.data.emit(&mut w);
    buf
}

/// The kept differences of every zone, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    zones: HashMap<Name, VecDeque<Diff>>,
    max_versions: usize,
    max_records: usize,
}

impl History {
    /// Keeps at most `max_versions` differences per zone, and no more than
    /// `max_records` records in them all per zone.
    pub fn new(max_versions: usize, max_records: usize) -> History {
        History {
            zones: HashMap::new(),
            max_versions,
            max_records,
        }
    }

    /// Records what changed between two zone sets: for each zone of `new`
    /// whose serial differs from the same zone in `old`. A zone that went
    /// away loses its history; one whose serial went back (or that changed
    /// without a new serial) starts over.
    pub fn record(&mut self, old: &ZoneSet, new: &ZoneSet) {
        self.zones.retain(|origin, _| new.get(origin).is_some());
        for z in new.zones() {
            let Some(before) = old.get(z.origin()) else {
                self.zones.remove(z.origin());
                continue;
            };
            let (a, b) = (before.soa().serial, z.soa().serial);
            if a == b {
                if before != z {
                    self.zones.remove(z.origin());
                }
                continue;
            }
            if !serial_gt(b, a) {
                self.zones.remove(z.origin());
                continue;
            }
            let diffs = self.zones.entry(z.origin().clone()).or_default();
            diffs.push_back(Diff::between(before, z));
            while diffs.len() > self.max_versions
                || (diffs.iter().map(Diff::size).sum::<usize>() > self.max_records
                    && !diffs.is_empty())
            {
                diffs.pop_front();
            }
        }
    }

    /// The chain of differences from `serial` to the zone's current
    /// `current` serial, if the history holds all of it.
    pub fn since(&self, origin: &Name, serial: u32, current: u32) -> Option<Vec<&Diff>> {
        let diffs = self.zones.get(origin)?;
        let start = diffs.iter().position(|d| d.from_serial() == serial)?;
        let chain: Vec<&Diff> = diffs.iter().skip(start).collect();
        let linked = chain
            .windows(2)
            .all(|w| w[0].to_serial() == w[1].from_serial());
        (linked && chain.last()?.to_serial() == current).then_some(chain)
    }
}

/// Serial number arithmetic (RFC 1982): whether `a` is after `b`.
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::zone::parse_str;

    fn zone(serial: u32, extra: &str) -> Zone {
        let origin: Name = "example.com.".parse().unwrap();
        let text =
            format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{extra}");
        Zone::new(origin.clone(), parse_str(&text, "z", &origin).unwrap()).unwrap()
    }

    #[test]
    fn test_diff_and_chain() {
        let v1 = ZoneSet::new([zone(1, "a A 192.0.2.2\n")]);
        let v2 = ZoneSet::new([zone(2, "b A 192.0.2.3\n")]);
        let v3 = ZoneSet::new([zone(3, "b 30 A 192.0.2.3\n")]);
        let mut h = History::new(10, 1000);
        h.record(&v1, &v2);
        h.record(&v2, &v3);
        let origin: Name = "example.com.".parse().unwrap();
        let chain = h.since(&origin, 1, 3).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(
            chain[0].removed[0].to_string(),
            "a.example.com. 60 IN A 192.0.2.2"
        );
        assert_eq!(
            chain[0].added[0].to_string(),
            "b.example.com. 60 IN A 192.0.2.3"
        );
        assert_eq!(chain[1].added[0].ttl, 30);
        assert_eq!(h.since(&origin, 2, 3).unwrap().len(), 1);
        assert!(h.since(&origin, 0, 3).is_none());
        assert!(h.since(&origin, 1, 4).is_none());
        // Bounded: only the newest difference is kept.
        let mut small = History::new(1, 1000);
        small.record(&v1, &v2);
        small.record(&v2, &v3);
        assert!(small.since(&origin, 1, 3).is_none());
        assert!(small.since(&origin, 2, 3).is_some());
        // Going back in serial forgets the history.
        h.record(&v3, &v1);
        assert!(h.since(&origin, 1, 3).is_none());
    }

    #[test]
    fn test_serial_arithmetic() {
        assert!(serial_gt(2, 1));
        assert!(serial_gt(0, u32::MAX));
        assert!(!serial_gt(1, 2));
        assert!(!serial_gt(5, 5));
    }
}
