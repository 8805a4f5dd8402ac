//! The authoritative lookup of RFC 1034 §4.3.2, with wildcards (RFC 4592),
//! DNAME (RFC 6672), negative answers (RFC 2308), minimal ANY (RFC 8482)
//! and, for signed zones asked with DNSSEC OK, the signatures and NSEC
//! proofs of RFC 4035 §3.1.

use super::zoneset::{IndexedZone, Node, RRset, ZoneSet};
use crate::wire::rdata::Rrsig;
use crate::wire::{Name, RData, Rcode, Record, Type};

/// The names around a wildcard match, lowercase wire form.
struct Wildcard<'a> {
    /// The closest encloser.
    ce: &'a [u8],
    /// The closest encloser with one more label of the query name.
    next_closer: &'a [u8],
    /// The wildcard name `*.ce`.
    wild: &'a [u8],
}

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
        if self.dnssec
            && let Some(node) = self.zone.node(self.zone.apex())
        {
            out.extend(
                signatures(node, Type::SOA, &soa.name)
                    .into_iter()
                    .map(|r| Record { ttl, ..r }),
            );
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

    /// The NSEC3 record owned by `owner` (lowercase wire) and its signature.
    fn nsec3_at(&self, owner: Option<&[u8]>) -> Vec<Record> {
        let Some(node) = owner.and_then(|o| self.zone.node(o)) else {
            return Vec::new();
        };
        match node.get(Type::NSEC3) {
            Some(set) => self.signed(node, set, &set.records[0].name),
            None => Vec::new(),
        }
    }

    /// Proof that the name `lower` exists but has no data of the type asked.
    fn proof_nodata(&self, node: &Node, name: &Name, lower: &[u8]) -> Vec<Record> {
        if !self.dnssec {
            return Vec::new();
        }
        if let Some(chain) = self.zone.nsec3() {
            return self.nsec3_at(chain.matching(lower));
        }
        let at = self.nsec_at(node);
        // An empty non-terminal has no NSEC of its own: the one before it proves it empty.
        if at.is_empty() {
            self.nsec_covering(name)
        } else {
            at
        }
    }

    /// Proof that `name` does not exist and that no wildcard at its closest
    /// encloser `ce` could have matched it (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2).
    fn proof_nxdomain(
        &self,
        name: &Name,
        ce: &[u8],
        next_closer: &[u8],
        wild: &[u8],
    ) -> Vec<Record> {
        if !self.dnssec {
            return Vec::new();
        }
        let mut proof = Vec::new();
        if let Some(chain) = self.zone.nsec3() {
            extend_unique(&mut proof, self.nsec3_at(chain.matching(ce)));
            extend_unique(&mut proof, self.nsec3_at(chain.covering(next_closer)));
            extend_unique(&mut proof, self.nsec3_at(chain.covering(wild)));
        } else {
            proof = self.nsec_covering(name);
            if let Ok(wild_name) = Name::from_wire(wild) {
                extend_unique(&mut proof, self.nsec_covering(&wild_name));
            }
        }
        proof
    }

    /// Proof that no name closer than the wildcard matched (RFC 4035
    /// §3.1.3.3, RFC 5155 §7.2.6).
    fn proof_wildcard_answer(&self, name: &Name, next_closer: &[u8]) -> Vec<Record> {
        match self.zone.nsec3() {
            _ if !self.dnssec => Vec::new(),
            Some(chain) => self.nsec3_at(chain.covering(next_closer)),
            None => self.nsec_covering(name),
        }
    }

    /// Proof that the wildcard matched but has no data of the type asked
    /// (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5).
    fn proof_wildcard_nodata(
        &self,
        wild_node: &Node,
        name: &Name,
        ce: &[u8],
        next_closer: &[u8],
        wild: &[u8],
    ) -> Vec<Record> {
        if !self.dnssec {
            return Vec::new();
        }
        let mut proof = Vec::new();
        if let Some(chain) = self.zone.nsec3() {
            extend_unique(&mut proof, self.nsec3_at(chain.matching(ce)));
            extend_unique(&mut proof, self.nsec3_at(chain.covering(next_closer)));
            extend_unique(&mut proof, self.nsec3_at(chain.matching(wild)));
        } else {
            proof = self.nsec_at(wild_node);
            extend_unique(&mut proof, self.nsec_covering(name));
        }
        proof
    }

    /// The DS set of a delegation, or the proof that it has none.
    fn delegation_ds(&self, node: &Node, lower_cut: &[u8]) -> Vec<Record> {
        if !self.dnssec {
            return Vec::new();
        }
        if let Some(set) = node.get(Type::DS) {
            return self.signed(node, set, &set.records[0].name);
        }
        match self.zone.nsec3() {
            // Without a matching NSEC3 the delegation is opt-out: the covering one shows it.
            Some(chain) => self.nsec3_at(
                chain
                    .matching(lower_cut)
                    .or_else(|| chain.covering(lower_cut)),
            ),
            None => self.nsec_at(node),
        }
    }

    /// Looks `name` up.
    fn step(&self, name: &Name, qtype: Type) -> Step<'z> {
        let zone = self.zone;
        let lower = name.as_wire().to_ascii_lowercase();
        let apex_len = zone.apex().len();
        // Suffix offsets from the name itself (index 0) up to the apex.
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
            if !at_apex
                && let Some(ns) = node.get(Type::NS)
                && !(at_name && qtype == Type::DS)
            {
                return Step::Referral {
                    ns,
                    ds: self.delegation_ds(node, &lower[off..]),
                };
            }
            if !at_name && let Some(dname) = node.get(Type::DNAME) {
                return self.dname_step(name, node, dname);
            }
            if at_name {
                return self.node_step(node, name, &lower, qtype, None);
            }
        }
        // The name does not exist; the closest encloser exists, and the
        // next closer name (one label more) does not.
        let ce = &lower[offsets[encloser]..];
        let next_closer = &lower[offsets[encloser - 1]..];
        let mut wild = Vec::with_capacity(ce.len() + 2);
        wild.extend_from_slice(b"\x01*");
        wild.extend_from_slice(ce);
        match zone.node(&wild) {
            Some(node) => self.node_step(
                node,
                name,
                &lower,
                qtype,
                Some(Wildcard {
                    ce,
                    next_closer,
                    wild: &wild,
                }),
            ),
            None => Step::NxDomain {
                proof: self.proof_nxdomain(name, ce, next_closer, &wild),
            },
        }
    }

    /// Answers from an existing node: the name's own, or the wildcard that
    /// matched it.
    fn node_step(
        &self,
        node: &'z Node,
        name: &Name,
        lower: &[u8],
        qtype: Type,
        wildcard: Option<Wildcard<'_>>,
    ) -> Step<'z> {
        let set = if qtype == Type::ANY {
            // RFC 8482 §4.1: answer with one RRset, not all of them.
            node.rrsets
                .iter()
                .find(|s| s.rtype != Type::RRSIG)
                .or(node.rrsets.first())
        } else {
            node.get(qtype)
        };
        let answer_proof = || {
            wildcard
                .as_ref()
                .map(|w| self.proof_wildcard_answer(name, w.next_closer))
                .unwrap_or_default()
        };
        if let Some(set) = set {
            return Step::Data {
                records: self.signed(node, set, name),
                proof: answer_proof(),
            };
        }
        if let Some(cname) = node.get(Type::CNAME)
            && let Some(RData::Cname(target)) = cname.records.first().map(|r| &r.data)
        {
            return Step::Alias {
                records: self.signed(node, cname, name),
                target: target.clone(),
                proof: answer_proof(),
            };
        }
        let proof = match &wildcard {
            Some(w) => self.proof_wildcard_nodata(node, name, w.ce, w.next_closer, w.wild),
            None => self.proof_nodata(node, name, lower),
        };
        Step::NoData { proof }
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
