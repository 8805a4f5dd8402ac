//! The authoritative lookup of RFC 1034 §4.3.2, with wildcards (RFC 4592),
//! DNAME (RFC 6672), negative answers (RFC 2308), minimal ANY (RFC 8482)
//! and, for signed zones asked with DNSSEC OK, the signatures and NSEC
//! proofs of RFC 4035 §3.1.

use super::zoneset::{IndexedZone, Node, RRset, ZoneSet};
use crate::wire::rdata::Rrsig;
use crate::wire::{Name, RData, Rcode, Record, Type};

/// Longest CNAME/DNAME chain followed inside our zones.
pub const MAX_CHAIN: usize = 12;

/// The sections of an authoritative answer, before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The response code.
    pub rcode: Rcode,
    /// Whether we are authoritative for the (first) name: false for referrals and refusals.
    pub aa: bool,
    /// The answer section.
    pub answer: Vec<Record>,
    /// The authority section.
    pub authority: Vec<Record>,
    /// The additional section.
    pub additional: Vec<Record>,
    /// Whether the additional section holds glue a referral needs (RFC 9471):
    /// dropping it for size must set TC.
    pub glue_needed: bool,
}

impl Answer {
    fn new() -> Answer {
        Answer {
            rcode: Rcode::NOERROR,
            aa: true,
            answer: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            glue_needed: false,
        }
    }
}

/// Appends the records of `from` not already in `to`.
fn extend_unique(to: &mut Vec<Record>, from: Vec<Record>) {
    for r in from {
        if !to.contains(&r) {
            to.push(r);
        }
    }
}

/// What one zone says about one name. `proof` records go to the authority
/// section (NSEC proofs and their signatures; empty without DNSSEC).
enum Step<'z> {
    /// Data to answer with (owner replaced by the name asked, for wildcards).
    Data {
        records: Vec<Record>,
        proof: Vec<Record>,
    },
    /// An alias to follow.
    Alias {
        records: Vec<Record>,
        target: Name,
        proof: Vec<Record>,
    },
    /// The name lies at or below a zone cut: its NS set, and the DS set or
    /// the proof that there is none.
    Referral { ns: &'z RRset, ds: Vec<Record> },
    /// The name exists but has no data of the type.
    NoData { proof: Vec<Record> },
    /// The name does not exist.
    NxDomain { proof: Vec<Record> },
    /// DNAME substitution made a name too long (RFC 6672 §2.2).
    YxDomain(Vec<Record>),
}

/// Answers `qname`/`qtype` from `zones` without DNSSEC records; `None`
/// when no zone of ours holds `qname` (REFUSED).
pub fn resolve(zones: &ZoneSet, qname: &Name, qtype: Type) -> Option<Answer> {
    resolve_with(zones, qname, qtype, false)
}

/// Like [`resolve`]; with `dnssec_ok` (the query's DO bit), answers from
/// signed zones carry their RRSIGs and NSEC proofs.
pub fn resolve_with(zones: &ZoneSet, qname: &Name, qtype: Type, dnssec_ok: bool) -> Option<Answer> {
    let mut answer = Answer::new();
    let mut name = qname.clone();
    let mut first = true;
    for _ in 0..MAX_CHAIN {
        let Some(zone) = zones.find(&name) else {
            if first {
                return None;
            }
            break;
        };
        let look = Lookup {
            zone,
            dnssec: dnssec_ok && zone.is_signed(),
        };
        match look.step(&name, qtype) {
            Step::Data { records, proof } => {
                add_additional(zone, &records, &mut answer.additional);
                answer.answer.extend(records);
                extend_unique(&mut answer.authority, proof);
                return Some(answer);
            }
            Step::Alias {
                records,
                target,
                proof,
            } => {
                answer.answer.extend(records);
                extend_unique(&mut answer.authority, proof);
                name = target;
            }
            Step::Referral { ns, ds } => {
                if first {
                    answer.aa = false;
                }
                answer.authority.extend(ns.records.iter().cloned());
                answer.authority.extend(ds);
                let before = answer.additional.len();
                add_additional(zone, &ns.records, &mut answer.additional);
                answer.glue_needed = answer.additional.len() > before;
                return Some(answer);
            }
            Step::NoData { proof } => {
                answer.authority.extend(look.negative_soa());
                extend_unique(&mut answer.authority, proof);
                return Some(answer);
            }
            Step::NxDomain { proof } => {
                answer.authority.extend(look.negative_soa());
                extend_unique(&mut answer.authority, proof);
                answer.rcode = Rcode::NXDOMAIN;
                return Some(answer);
            }
            Step::YxDomain(records) => {
                answer.answer.extend(records);
                answer.rcode = Rcode::YXDOMAIN;
                return Some(answer);
            }
        }
        first = false;
    }
    Some(answer)
}

/// A lookup in one zone; `dnssec` when signatures and proofs are wanted and the zone has them.
struct Lookup<'z> {
    zone: &'z IndexedZone,
    dnssec: bool,
}

impl<'z> Lookup<'z> {
    /// The SOA record of a negative answer, with the negative TTL (RFC 2308
    /// §3), and its signature at the same TTL.
    fn negative_soa(&self) -> Vec<Record> {
        let ttl = self.zone.negative_ttl();
        let soa = self.zone.zone().soa_record();
        let mut out = vec![Record { ttl, ..soa.clone() }];
        if self.dnssec {
            if let Some(node) = self.zone.node(self.zone.apex()) {
                out.extend(
                    signatures(node, Type::SOA, &soa.name)
                        .into_iter()
                        .map(|r| Record { ttl, ..r }),
                );
            }
        }
        out
    }

    /// The records of `set` owned by `owner` (the query name for wildcard
    /// matches), followed by their RRSIGs when DNSSEC is on.
    fn signed(&self, node: &Node, set: &RRset, owner: &Name) -> Vec<Record> {
        let mut out: Vec<Record> = set
            .records
            .iter()
            .map(|r| Record {
                name: owner.clone(),
                ..r.clone()
            })
            .collect();
        if self.dnssec {
            out.extend(signatures(node, set.rtype, owner));
        }
        out
    }

    /// The NSEC record at `node` and its signature.
    fn nsec_at(&self, node: &Node) -> Vec<Record> {
        match node.get(Type::NSEC) {
            Some(set) if self.dnssec => self.signed(node, set, &set.records[0].name),
            _ => Vec::new(),
        }
    }

    /// The NSEC record whose owner is the closest predecessor of `name` in
    /// canonical order (it proves `name` absent), and its signature.
    fn nsec_covering(&self, name: &Name) -> Vec<Record> {
        if !self.dnssec {
            return Vec::new();
        }
        match self
            .zone
            .nsec_predecessor(name)
            .and_then(|owner| self.zone.node(&owner.as_wire().to_ascii_lowercase()))
        {
            Some(node) => self.nsec_at(node),
            None => Vec::new(),
        }
    }

    /// Looks `name` up.
    fn step(&self, name: &Name, qtype: Type) -> Step<'z> {
        let zone = self.zone;
        let lower = name.as_wire().to_ascii_lowercase();
        let apex_len = zone.apex().len();
        // Suffix offsets from the apex down to the name itself.
        let offsets: Vec<usize> = name
            .suffix_offsets()
            .filter(|&o| lower.len() - o >= apex_len)
            .collect();
        let mut encloser = offsets.len() - 1;
        for (i, &off) in offsets.iter().enumerate().rev() {
            let Some(node) = zone.node(&lower[off..]) else {
                break;
            };
            encloser = i;
            let at_apex = lower.len() - off == apex_len;
            let at_name = off == 0;
            if !at_apex {
                if let Some(ns) = node.get(Type::NS) {
                    if !(at_name && qtype == Type::DS) {
                        let ds = match node.get(Type::DS) {
                            Some(set) if self.dnssec => {
                                self.signed(node, set, &set.records[0].name)
                            }
                            _ => self.nsec_at(node),
                        };
                        return Step::Referral { ns, ds };
                    }
                }
            }
            if !at_name {
                if let Some(dname) = node.get(Type::DNAME) {
                    return self.dname_step(name, node, dname);
                }
            }
            if at_name {
                return self.node_step(node, name, qtype, None);
            }
        }
        // The name does not exist: try the wildcard at the closest encloser.
        let ce = &lower[offsets[encloser]..];
        let mut wild = Vec::with_capacity(ce.len() + 2);
        wild.extend_from_slice(b"\x01*");
        wild.extend_from_slice(ce);
        let no_exact_match = self.nsec_covering(name);
        match zone.node(&wild) {
            Some(node) => self.node_step(node, name, qtype, Some(no_exact_match)),
            None => {
                let mut proof = no_exact_match;
                if let Ok(wild_name) = Name::from_wire(&wild) {
                    extend_unique(&mut proof, self.nsec_covering(&wild_name));
                }
                Step::NxDomain { proof }
            }
        }
    }

    /// Answers from an existing node; `wildcard` holds the proof that the
    /// name itself does not exist when the node is a wildcard's.
    fn node_step(
        &self,
        node: &'z Node,
        name: &Name,
        qtype: Type,
        wildcard: Option<Vec<Record>>,
    ) -> Step<'z> {
        let proof = wildcard.unwrap_or_default();
        let set = if qtype == Type::ANY {
            // RFC 8482 §4.1: answer with one RRset, not all of them.
            node.rrsets
                .iter()
                .find(|s| s.rtype != Type::RRSIG)
                .or(node.rrsets.first())
        } else {
            node.get(qtype)
        };
        if let Some(set) = set {
            return Step::Data {
                records: self.signed(node, set, name),
                proof,
            };
        }
        if let Some(cname) = node.get(Type::CNAME) {
            if let Some(RData::Cname(target)) = cname.records.first().map(|r| &r.data) {
                return Step::Alias {
                    records: self.signed(node, cname, name),
                    target: target.clone(),
                    proof,
                };
            }
        }
        let mut nodata = self.nsec_at(node);
        if nodata.is_empty() {
            // An empty non-terminal has no NSEC of its own: the one before it proves it empty.
            nodata = self.nsec_covering(name);
        }
        extend_unique(&mut nodata, proof);
        Step::NoData { proof: nodata }
    }

    fn dname_step(&self, name: &Name, node: &Node, dname: &RRset) -> Step<'z> {
        let rec = &dname.records[0];
        let RData::Dname(target) = &rec.data else {
            return Step::NoData { proof: Vec::new() };
        };
        let mut records = self.signed(node, dname, &rec.name);
        match name.replace_suffix(&rec.name, target) {
            Some(Ok(new)) => {
                records.push(Record {
                    name: name.clone(),
                    class: rec.class,
                    ttl: rec.ttl,
                    data: RData::Cname(new.clone()),
                });
                Step::Alias {
                    records,
                    target: new,
                    proof: Vec::new(),
                }
            }
            _ => Step::YxDomain(records),
        }
    }
}

/// The RRSIGs at `node` covering `rtype`, owned by `owner`.
fn signatures(node: &Node, rtype: Type, owner: &Name) -> Vec<Record> {
    let Some(sigs) = node.get(Type::RRSIG) else {
        return Vec::new();
    };
    sigs.records
        .iter()
        .filter(|r| matches!(&r.data, RData::Rrsig(Rrsig { type_covered, .. }) if *type_covered == rtype))
        .map(|r| Record { name: owner.clone(), ..r.clone() })
        .collect()
}

/// Adds the in-zone A/AAAA records of the names that `records` point at
/// (NS, MX, SRV targets), skipping ones already present.
fn add_additional(zone: &IndexedZone, records: &[Record], out: &mut Vec<Record>) {
    for r in records {
        let target = match &r.data {
            RData::Ns(n) => n,
            RData::Mx(m) => &m.exchange,
            RData::Srv(s) => &s.target,
            _ => continue,
        };
        let lower = target.as_wire().to_ascii_lowercase();
        if !lower.ends_with(zone.apex()) {
            continue;
        }
        let Some(node) = zone.node(&lower) else {
            continue;
        };
        for t in [Type::A, Type::AAAA] {
            if let Some(set) = node.get(t) {
                for rec in &set.records {
                    if !out.contains(rec) {
                        out.push(rec.clone());
                    }
                }
            }
        }
    }
}
