//! [`Answer`]: what a response says about one question, with the CNAME
//! chain inside it followed (RFC 1034 §3.6.2) and negative answers told
//! apart (RFC 2308: NXDOMAIN, NODATA, and how long to remember them).

use std::net::IpAddr;

use super::error::ResolveError;
use crate::wire::{Message, Name, Question, RData, Rcode, Record, Type};

/// What kind of answer a response gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Records of the type asked for, at the end of the chain.
    Records,
    /// The name exists but has no records of the type asked for (NODATA,
    /// RFC 2308 §2.2): NOERROR and an empty answer at the end of the chain.
    NoData,
    /// The name at the end of the chain does not exist (NXDOMAIN).
    NxDomain,
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub rtype: Type,
    /// Records, NODATA or NXDOMAIN.
    pub status: Status,
    /// The response code the server gave (NOERROR or NXDOMAIN).
    pub rcode: Rcode,
    /// The name the CNAME chain ends at (`name` when there is no chain).
    pub canonical: Name,
    /// The CNAME records followed from `name` to `canonical`, in order.
    pub chain: Vec<Record>,
    /// The records of type `rtype` owned by `canonical`.
    pub records: Vec<Record>,
    /// For a negative answer, the SOA record of the zone that gave it.
    pub soa: Option<Record>,
    /// How many seconds the answer holds: the smallest TTL of the chain
    /// and records, or for a negative answer the SOA's TTL capped by its
    /// MINIMUM field (RFC 2308 §5) and by the chain's TTLs; 0 for a
    /// negative answer without SOA.
    pub ttl: u32,
}

impl Answer {
    /// Reads the answer to `question` out of a checked response (NOERROR
    /// or NXDOMAIN), following at most `max_chain` CNAME records.
    ///
    /// A chain that comes back to a name already visited is
    /// [`ResolveError::CnameLoop`]; one longer than `max_chain` is
    /// [`ResolveError::ChainTooLong`]. Records of another class than the
    /// question's are ignored. Nothing here can panic, whatever the message.
    pub fn from_message(
        question: &Question,
        message: &Message,
        max_chain: usize,
    ) -> Result<Answer, ResolveError> {
        let qtype = question.qtype;
        let in_class = |r: &&Record| r.class == question.qclass;
        let follow = qtype != Type::CNAME && qtype != Type::ANY;
        let mut canonical = question.name.clone();
        let mut chain: Vec<Record> = Vec::new();
        let records = loop {
            let here: Vec<Record> = message
                .answers
                .iter()
                .filter(in_class)
                .filter(|r| r.name == canonical && (qtype == Type::ANY || r.rtype() == qtype))
                .cloned()
                .collect();
            if !here.is_empty() || !follow {
                break here;
            }
            let Some(cname) = message
                .answers
                .iter()
                .filter(in_class)
                .find(|r| r.name == canonical && r.rtype() == Type::CNAME)
            else {
                break here;
            };
            let RData::Cname(target) = &cname.data else {
                break here;
            };
            if *target == question.name || chain.iter().any(|c| c.name == *target) {
                return Err(ResolveError::CnameLoop {
                    name: target.clone(),
                });
            }
            if chain.len() >= max_chain {
                return Err(ResolveError::ChainTooLong { limit: max_chain });
            }
            chain.push(cname.clone());
            canonical = target.clone();
        };
        let rcode = message.rcode();
        let status = if !records.is_empty() {
            Status::Records
        } else if rcode == Rcode::NXDOMAIN {
            Status::NxDomain
        } else {
            Status::NoData
        };
        let soa = (status != Status::Records)
            .then(|| {
                message
                    .authority
                    .iter()
                    .filter(in_class)
                    .find(|r| r.rtype() == Type::SOA && canonical.is_subdomain_of(&r.name))
                    .cloned()
            })
            .flatten();
        let ttl = match (&soa, status) {
            (
                Some(
                    soa @ Record {
                        data: RData::Soa(s),
                        ..
                    },
                ),
                _,
            ) => chain
                .iter()
                .map(|r| r.ttl)
                .fold(soa.ttl.min(s.minimum), u32::min),
            (_, Status::Records) => chain
                .iter()
                .chain(&records)
                .map(|r| r.ttl)
                .min()
                .unwrap_or(0),
            _ => 0,
        };
        Ok(Answer {
            name: question.name.clone(),
            rtype: qtype,
            status,
            rcode,
            canonical,
            chain,
            records,
            soa,
            ttl,
        })
    }

    /// The addresses among the records (A and AAAA data), in answer order.
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.records.iter().filter_map(|r| match r.data {
            RData::A(a) => Some(IpAddr::V4(a)),
            RData::Aaaa(a) => Some(IpAddr::V6(a)),
            _ => None,
        })
    }

    /// A copy whose TTLs (the answer's and every record's) are `elapsed`
    /// seconds lower, as a cache hands it out.
    pub(crate) fn aged(&self, elapsed: u32) -> Answer {
        let mut a = self.clone();
        a.ttl = a.ttl.saturating_sub(elapsed);
        for r in a.chain.iter_mut().chain(&mut a.records).chain(&mut a.soa) {
            r.ttl = r.ttl.saturating_sub(elapsed);
        }
        a
    }
}
