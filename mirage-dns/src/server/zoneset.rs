//! The zones a server is authoritative for, indexed for lookup: nodes by
//! lowercase wire name, empty non-terminals made explicit, RRsets grouped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use data_encoding::BASE32HEX_NOPAD;
use sha1::{Digest, Sha1};

use crate::wire::{Name, RData, Record, Type};
use crate::zone::Zone;

/// The records of one type at one name.
#[derive(Debug, Clone)]
pub struct RRset {
    /// The type.
    pub rtype: Type,
    /// The records (at least one).
    pub records: Vec<Record>,
}

/// One name in a zone: its RRsets; none for an empty non-terminal.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// RRsets in type order.
    pub rrsets: Vec<RRset>,
}

impl Node {
    /// The RRset of type `t`, if any.
    pub fn get(&self, t: Type) -> Option<&RRset> {
        self.rrsets.iter().find(|s| s.rtype == t)
    }
}

/// One zone, indexed.
#[derive(Debug)]
pub struct IndexedZone {
    zone: Zone,
    apex: Box<[u8]>,
    nodes: HashMap<Box<[u8]>, Node>,
    /// Owners of NSEC records, in canonical order (empty without an NSEC chain).
    nsec_owners: Vec<Name>,
    /// The NSEC3 chain, if the zone has one.
    nsec3: Option<Nsec3Chain>,
    /// Whether the zone carries signatures.
    signed: bool,
}

/// A zone's NSEC3 chain (RFC 5155): how names are hashed, and the hashed
/// owners in hash order.
#[derive(Debug)]
pub struct Nsec3Chain {
    iterations: u16,
    salt: Vec<u8>,
    /// (hash, lowercase wire owner) sorted by hash.
    hashes: Vec<(Vec<u8>, Box<[u8]>)>,
}

impl Nsec3Chain {
    fn new(zone: &Zone) -> Option<Nsec3Chain> {
        let param = zone.records().iter().find_map(|r| match &r.data {
            RData::Nsec3Param(p) if r.name == *zone.origin() && p.hash_algorithm == 1 => {
                Some((p.iterations, p.salt.clone()))
            }
            _ => None,
        });
        let mut hashes = Vec::new();
        let mut first = None;
        for r in zone.records() {
            let RData::Nsec3(n) = &r.data else { continue };
            first.get_or_insert((n.iterations, n.salt.clone()));
            let label = r.name.labels().next()?;
            let Ok(hash) = BASE32HEX_NOPAD.decode(&label.to_ascii_uppercase()) else {
                continue;
            };
            hashes.push((hash, r.name.as_wire().to_ascii_lowercase().into()));
        }
        let (iterations, salt) = param.or(first)?;
        hashes.sort();
        hashes.dedup_by(|a, b| a.0 == b.0);
        Some(Nsec3Chain {
            iterations,
            salt,
            hashes,
        })
    }

    /// The hash of a lowercase wire name (RFC 5155 §5).
    pub fn hash(&self, lower_wire: &[u8]) -> Vec<u8> {
        let mut digest = Sha1::new()
            .chain_update(lower_wire)
            .chain_update(&self.salt)
            .finalize();
        for _ in 0..self.iterations {
            digest = Sha1::new()
                .chain_update(digest)
                .chain_update(&self.salt)
                .finalize();
        }
        digest.to_vec()
    }

    /// The owner of the NSEC3 record whose hash equals that of `lower_wire`.
    pub fn matching(&self, lower_wire: &[u8]) -> Option<&[u8]> {
        let h = self.hash(lower_wire);
        self.hashes
            .binary_search_by(|(x, _)| x.as_slice().cmp(&h))
            .ok()
            .map(|i| &*self.hashes[i].1)
    }

    /// The owner of the NSEC3 record that covers the hash of `lower_wire`
    /// (the last one hashing lower, wrapping around).
    pub fn covering(&self, lower_wire: &[u8]) -> Option<&[u8]> {
        let h = self.hash(lower_wire);
        let i = self
            .hashes
            .partition_point(|(x, _)| x.as_slice() < h.as_slice());
        let i = if i == 0 { self.hashes.len() } else { i };
        self.hashes.get(i.checked_sub(1)?).map(|(_, o)| &**o)
    }
}

impl IndexedZone {
    /// Indexes a checked zone.
    pub fn new(zone: Zone) -> IndexedZone {
        let apex: Box<[u8]> = zone.origin().as_wire().to_ascii_lowercase().into();
        let mut nodes: HashMap<Box<[u8]>, Node> = HashMap::new();
        for r in zone.records() {
            let key: Box<[u8]> = r.name.as_wire().to_ascii_lowercase().into();
            let node = nodes.entry(key).or_default();
            match node.rrsets.iter_mut().find(|s| s.rtype == r.rtype()) {
                Some(set) => set.records.push(r.clone()),
                None => node.rrsets.push(RRset {
                    rtype: r.rtype(),
                    records: vec![r.clone()],
                }),
            }
            // Empty non-terminals: every ancestor up to the apex exists.
            for off in r.name.suffix_offsets().skip(1) {
                let anc = &r.name.as_wire()[off..];
                if anc.len() < apex.len() {
                    break;
                }
                nodes.entry(anc.to_ascii_lowercase().into()).or_default();
            }
        }
        // The zone's records are in canonical order already.
        let mut nsec_owners: Vec<Name> = zone
            .records()
            .iter()
            .filter(|r| r.rtype() == Type::NSEC)
            .map(|r| r.name.clone())
            .collect();
        nsec_owners.dedup();
        let nsec3 = Nsec3Chain::new(&zone);
        let signed = zone.records().iter().any(|r| r.rtype() == Type::RRSIG);
        IndexedZone {
            zone,
            apex,
            nodes,
            nsec_owners,
            nsec3,
            signed,
        }
    }

    /// Whether the zone carries signatures, to be sent with DNSSEC OK.
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// The zone's NSEC3 chain, if it has one.
    pub fn nsec3(&self) -> Option<&Nsec3Chain> {
        self.nsec3.as_ref()
    }

    /// The NSEC owner that precedes `name` in canonical order (or equals
    /// it), wrapping to the last one: the NSEC that covers `name`.
    pub fn nsec_predecessor(&self, name: &Name) -> Option<&Name> {
        let i = self.nsec_owners.partition_point(|o| o <= name);
        let i = if i == 0 { self.nsec_owners.len() } else { i };
        self.nsec_owners.get(i.checked_sub(1)?)
    }

    /// The zone itself.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The apex in lowercase wire form.
    pub fn apex(&self) -> &[u8] {
        &self.apex
    }

    /// The node at a lowercase wire name.
    pub fn node(&self, lower_wire: &[u8]) -> Option<&Node> {
        self.nodes.get(lower_wire)
    }

    /// The TTL of negative answers: the minimum of the SOA's TTL and its MINIMUM field (RFC 2308 §5).
    pub fn negative_ttl(&self) -> u32 {
        self.zone.soa_record().ttl.min(self.zone.soa().minimum)
    }
}

/// An immutable set of zones, looked up by longest matching origin.
#[derive(Debug, Default)]
pub struct ZoneSet {
    zones: HashMap<Box<[u8]>, IndexedZone>,
}

impl ZoneSet {
    /// A set of the given zones; a later zone with the same origin replaces an earlier one.
    pub fn new(zones: impl IntoIterator<Item = Zone>) -> ZoneSet {
        let zones = zones
            .into_iter()
            .map(IndexedZone::new)
            .map(|z| (z.apex.clone(), z))
            .collect();
        ZoneSet { zones }
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether there are no zones.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Whether this set holds exactly `zones` (same origins, same records),
    /// so a reload that changed nothing need not disturb the memo.
    pub fn holds(&self, zones: &[Zone]) -> bool {
        zones.len() == self.zones.len()
            && zones.iter().all(|z| {
                let key = z.origin().as_wire().to_ascii_lowercase();
                self.zones
                    .get(&key[..])
                    .is_some_and(|have| have.zone() == z)
            })
    }

    /// The zones, in no particular order.
    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.values().map(|z| z.zone())
    }

    /// The zone whose origin is exactly `origin`.
    pub fn get(&self, origin: &Name) -> Option<&Zone> {
        let key = origin.as_wire().to_ascii_lowercase();
        self.zones.get(&key[..]).map(|z| z.zone())
    }

    /// A new set with `zone` added, or replacing the zone of the same
    /// origin; the other zones are indexed again.
    pub fn with_zone(&self, zone: Zone) -> ZoneSet {
        let origin = zone.origin().clone();
        ZoneSet::new(
            self.zones()
                .filter(|z| *z.origin() != origin)
                .cloned()
                .chain([zone]),
        )
    }

    /// The zone whose origin is the longest suffix of `name`.
    pub fn find(&self, name: &Name) -> Option<&IndexedZone> {
        let lower = name.as_wire().to_ascii_lowercase();
        self.find_lower(&lower)
    }

    /// Like [`find`](Self::find), for a lowercase wire name.
    pub fn find_lower(&self, lower_wire: &[u8]) -> Option<&IndexedZone> {
        let mut pos = 0;
        loop {
            if let Some(z) = self.zones.get(&lower_wire[pos..]) {
                return Some(z);
            }
            let l = *lower_wire.get(pos)? as usize;
            if l == 0 {
                return None;
            }
            pos += l + 1;
        }
    }
}

/// A shared slot holding the current [`ZoneSet`]: the appliance stores a
/// new set with [`swap`](Zones::swap) and every query after that sees it,
/// while queries already answered kept a consistent view.
#[derive(Debug, Clone, Default)]
pub struct Zones(Rc<RefCell<Arc<ZoneSet>>>);

impl Zones {
    /// A slot holding `set`.
    pub fn new(set: ZoneSet) -> Zones {
        Zones(Rc::new(RefCell::new(Arc::new(set))))
    }

    /// Replaces the zone set atomically (for this single-threaded server).
    pub fn swap(&self, set: impl Into<Arc<ZoneSet>>) {
        *self.0.borrow_mut() = set.into();
    }

    /// The current zone set.
    pub fn current(&self) -> Arc<ZoneSet> {
        self.0.borrow().clone()
    }

    /// Points `seen` at the current set; returns whether it changed. Costs
    /// a pointer comparison when it did not.
    pub fn refresh(&self, seen: &mut Arc<ZoneSet>) -> bool {
        let now = self.0.borrow();
        if Arc::ptr_eq(&now, seen) {
            return false;
        }
        *seen = now.clone();
        true
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::zone::parse_str;

    #[test]
    fn test_nsec3_hash_rfc5155_appendix_a() {
        let origin: Name = "example.".parse().unwrap();
        let text = "$TTL 3600\n@ SOA ns1 bugs.x.w 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n@ NSEC3PARAM 1 0 12 aabbccdd\n\
                    0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA RRSIG DNSKEY NSEC3PARAM\n";
        let zone = Zone::new(origin.clone(), parse_str(text, "rfc5155", &origin).unwrap()).unwrap();
        let chain = Nsec3Chain::new(&zone).unwrap();
        let hash = |name: &str| {
            BASE32HEX_NOPAD
                .encode(&chain.hash(&name.parse::<Name>().unwrap().as_wire().to_ascii_lowercase()))
                .to_ascii_lowercase()
        };
        assert_eq!(hash("example."), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
        assert_eq!(hash("a.example."), "35mthgpgcu1qg68fab165klnsnk3dpvl");
        assert_eq!(hash("*.w.example."), "r53bq7cc2uvmubfu5ocmm6pers9tk9en");
        let apex = origin.as_wire().to_ascii_lowercase();
        assert!(chain.matching(&apex).is_some());
        // With one NSEC3 in the chain, it covers every other hash.
        assert!(chain.covering(b"\x01a\x07example\x00").is_some());
    }
}
