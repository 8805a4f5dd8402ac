//! The authoritative lookup of RFC 1034 §4.3.2, with wildcards (RFC 4592),
//! DNAME (RFC 6672), negative answers (RFC 2308) and minimal ANY (RFC 8482).

use super::zoneset::{IndexedZone, Node, RRset, ZoneSet};
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

/// What one zone says about one name.
enum Step<'z> {
    /// Data to answer with (owner replaced by the name asked, for wildcards).
    Data(Vec<Record>),
    /// An alias to follow.
    Alias(Vec<Record>, Name),
    /// The name lies at or below a zone cut.
    Referral(&'z RRset),
    /// The name exists but has no data of the type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// DNAME substitution made a name too long (RFC 6672 §2.2).
    YxDomain(Vec<Record>),
}

/// Answers `qname`/`qtype` from `zones`; `None` when no zone of ours holds `qname` (REFUSED).
pub fn resolve(zones: &ZoneSet, qname: &Name, qtype: Type) -> Option<Answer> {
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
        match step(zone, &name, qtype) {
            Step::Data(records) => {
                add_additional(zone, &records, &mut answer.additional);
                answer.answer.extend(records);
                return Some(answer);
            }
            Step::Alias(records, target) => {
                answer.answer.extend(records);
                name = target;
            }
            Step::Referral(ns) => {
                if first {
                    answer.aa = false;
                }
                answer.authority.extend(ns.records.iter().cloned());
                let before = answer.additional.len();
                add_additional(zone, &ns.records, &mut answer.additional);
                answer.glue_needed = answer.additional.len() > before;
                return Some(answer);
            }
            Step::NoData => {
                answer.authority.push(negative_soa(zone));
                return Some(answer);
            }
            Step::NxDomain => {
                answer.authority.push(negative_soa(zone));
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

/// The SOA record of a negative answer, with the negative TTL (RFC 2308 §3).
fn negative_soa(zone: &IndexedZone) -> Record {
    let mut soa = zone.zone().soa_record().clone();
    soa.ttl = zone.negative_ttl();
    soa
}

/// Looks `name` up in one zone.
fn step<'z>(zone: &'z IndexedZone, name: &Name, qtype: Type) -> Step<'z> {
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
                    return Step::Referral(ns);
                }
            }
        }
        if !at_name {
            if let Some(dname) = node.get(Type::DNAME) {
                return dname_step(name, dname);
            }
        }
        if at_name {
            return node_step(node, name, qtype);
        }
    }
    // The name does not exist: try the wildcard at the closest encloser.
    let ce = &lower[offsets[encloser]..];
    let mut wild = Vec::with_capacity(ce.len() + 2);
    wild.extend_from_slice(b"\x01*");
    wild.extend_from_slice(ce);
    match zone.node(&wild) {
        Some(node) => node_step(node, name, qtype),
        None => Step::NxDomain,
    }
}

/// The records of `set` with their owner replaced by `owner` (the same
/// name for exact matches, the query name for wildcard matches).
fn owned(set: &RRset, owner: &Name) -> Vec<Record> {
    set.records
        .iter()
        .map(|r| Record {
            name: owner.clone(),
            ..r.clone()
        })
        .collect()
}

fn node_step<'z>(node: &'z Node, name: &Name, qtype: Type) -> Step<'z> {
    if qtype == Type::ANY {
        // RFC 8482 §4.1: answer with one RRset, not all of them.
        return match node
            .rrsets
            .iter()
            .find(|s| s.rtype != Type::RRSIG)
            .or(node.rrsets.first())
        {
            Some(set) => Step::Data(owned(set, name)),
            None => Step::NoData,
        };
    }
    if let Some(set) = node.get(qtype) {
        return Step::Data(owned(set, name));
    }
    if let Some(cname) = node.get(Type::CNAME) {
        let records = owned(cname, name);
        if let Some(RData::Cname(target)) = records.first().map(|r| &r.data) {
            let target = target.clone();
            return Step::Alias(records, target);
        }
    }
    Step::NoData
}

fn dname_step<'z>(name: &Name, dname: &RRset) -> Step<'z> {
    let rec = &dname.records[0];
    let RData::Dname(target) = &rec.data else {
        return Step::NoData;
    };
    let mut records = vec![rec.clone()];
    match name.replace_suffix(&rec.name, target) {
        Some(Ok(new)) => {
            records.push(Record {
                name: name.clone(),
                class: rec.class,
                ttl: rec.ttl,
                data: RData::Cname(new.clone()),
            });
            Step::Alias(records, new)
        }
        _ => Step::YxDomain(records),
    }
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
