//! Whole messages: header, question, answer, authority and additional
//! sections (RFC 1035 §4.1), with the OPT record lifted out into [`Edns`].

use nom::IResult;
use nom::number::complete::{be_u16, be_u32};

use super::edns::Edns;
use super::error::{EmitError, Field, WireError};
use super::header::{Counts, Header, Opcode, Rcode};
use super::name::Name;
use super::rdata::RData;
use super::rtype::{Class, Type};
use super::writer::Writer;

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name asked about, in the case it was asked.
    pub name: Name,
    /// The type asked for.
    pub qtype: Type,
    /// The class asked for.
    pub qclass: Class,
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The class.
    pub class: Class,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// The data; its variant gives the type.
    pub data: RData,
}

impl Record {
    /// The record's type.
    pub fn rtype(&self) -> Type {
        self.data.rtype()
    }

    /// Appends the record, compressing its owner name.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.name(&self.name, true);
        w.u16(self.rtype().0);
        w.u16(self.class.0);
        w.u32(self.ttl);
        let at = w.len();
        w.u16(0);
        self.data.emit(w)?;
        let len = u16::try_from(w.len() - at - 2).map_err(|_| EmitError::RdataTooLong)?;
        w.patch_u16(at, len);
        Ok(())
    }
}

impl core::fmt::Display for Record {
    /// Writes the record as a master-file line: owner, TTL, class, type, data.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.name,
            self.ttl,
            self.class,
            self.rtype(),
            self.data
        )
    }
}

/// A DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The header (the counts come from the sections).
    pub header: Header,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authority: Vec<Record>,
    /// The additional section, without the OPT record.
    pub additional: Vec<Record>,
    /// The OPT record, if any.
    pub edns: Option<Edns>,
}

/// Where a record was read from, for the OPT placement rules.
#[derive(PartialEq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

fn question<'a>(msg: &'a [u8], input: &'a [u8]) -> IResult<&'a [u8], Question, WireError> {
    let pos = msg.len() - input.len();
    let (name, next) = Name::parse(msg, pos).map_err(nom::Err::Failure)?;
    let input = &msg[next..];
    let (input, qtype) = be_u16(input)?;
    let (input, qclass) = be_u16(input)?;
    Ok((
        input,
        Question {
            name,
            qtype: Type(qtype),
            qclass: Class(qclass),
        },
    ))
}

/// A record as read, before OPT is told apart.
enum Parsed {
    Record(Record),
    Opt {
        owner_is_root: bool,
        class: u16,
        ttl: u32,
        rdata_at: usize,
        rdata_end: usize,
    },
}

fn record<'a>(msg: &'a [u8], input: &'a [u8]) -> IResult<&'a [u8], Parsed, WireError> {
    let pos = msg.len() - input.len();
    let (name, next) = Name::parse(msg, pos).map_err(nom::Err::Failure)?;
    let input = &msg[next..];
    let (input, rtype) = be_u16(input)?;
    let (input, class) = be_u16(input)?;
    let (input, ttl) = be_u32(input)?;
    let (input, len) = be_u16(input)?;
    let rdata_at = msg.len() - input.len();
    let rdata_end = rdata_at + len as usize;
    if rdata_end > msg.len() {
        return Err(nom::Err::Failure(WireError::Truncated(Field::Rdata)));
    }
    let rtype = Type(rtype);
    let parsed = if rtype == Type::OPT {
        Parsed::Opt {
            owner_is_root: name.is_root(),
            class,
            ttl,
            rdata_at,
            rdata_end,
        }
    } else if len == 0 && (class == Class::ANY.0 || class == Class::NONE.0) {
        // RFC 2136 prerequisites and deletions carry no data in class ANY or NONE.
        Parsed::Record(Record {
            name,
            class: Class(class),
            ttl,
            data: RData::Unknown {
                rtype,
                data: Vec::new(),
            },
        })
    } else {
        let data = RData::parse(rtype, &msg[..rdata_end], rdata_at).map_err(nom::Err::Failure)?;
        Parsed::Record(Record {
            name,
            class: Class(class),
            ttl,
            data,
        })
    };
    Ok((&msg[rdata_end..], parsed))
}

fn failure(e: nom::Err<WireError>, field: Field) -> WireError {
    match e {
        nom::Err::Failure(e) => e,
        _ => WireError::Truncated(field),
    }
}

impl Message {
    /// Parses a whole message. Counts in the header never drive allocation:
    /// sections grow as records are actually read.
    pub fn parse(msg: &[u8]) -> Result<Message, WireError> {
        let (mut input, (header, counts)) =
            Header::parse(msg).map_err(|e| failure(e, Field::Record))?;
        let mut m = Message {
            header,
            ..Message::default()
        };
        for _ in 0..counts.qd {
            let (rest, q) = question(msg, input).map_err(|e| failure(e, Field::Question))?;
            m.questions.push(q);
            input = rest;
        }
        for (count, section) in [
            (counts.an, Section::Answer),
            (counts.ns, Section::Authority),
            (counts.ar, Section::Additional),
        ] {
            for _ in 0..count {
                let (rest, parsed) = record(msg, input).map_err(|e| failure(e, Field::Record))?;
                input = rest;
                match parsed {
                    Parsed::Record(r) => match section {
                        Section::Answer => m.answers.push(r),
                        Section::Authority => m.authority.push(r),
                        Section::Additional => m.additional.push(r),
                    },
                    Parsed::Opt {
                        owner_is_root,
                        class,
                        ttl,
                        rdata_at,
                        rdata_end,
                    } => {
                        if section != Section::Additional || !owner_is_root {
                            return Err(WireError::MisplacedOpt);
                        }
                        if m.edns.is_some() {
                            return Err(WireError::MultipleOpt);
                        }
                        m.edns = Some(Edns::from_opt(class, ttl, &msg[rdata_at..rdata_end])?);
                    }
                }
            }
        }
        if !input.is_empty() {
            return Err(WireError::TrailingBytes(input.len()));
        }
        Ok(m)
    }

    /// The full response code: the header's 4 bits and the OPT record's 8.
    pub fn rcode(&self) -> Rcode {
        Rcode(
            (self.edns.as_ref().map_or(0, |e| e.ext_rcode) as u16) << 4 | self.header.rcode as u16,
        )
    }

    /// Sets the response code, in the header and (for codes above 15) the OPT record.
    pub fn set_rcode(&mut self, rcode: Rcode) {
        self.header.rcode = rcode.low();
        if let Some(e) = &mut self.edns {
            e.ext_rcode = rcode.high();
        }
    }

    /// The operation code.
    pub fn opcode(&self) -> Opcode {
        Opcode(self.header.opcode)
    }

    fn counts(&self) -> Result<Counts, EmitError> {
        let c = |n: usize| u16::try_from(n).map_err(|_| EmitError::TooManyRecords);
        Ok(Counts {
            qd: c(self.questions.len())?,
            an: c(self.answers.len())?,
            ns: c(self.authority.len())?,
            ar: c(self.additional.len() + self.edns.is_some() as usize)?,
        })
    }

    /// Appends the message to `buf` with name compression.
    pub fn emit(&self, buf: &mut Vec<u8>) -> Result<(), EmitError> {
        let mut w = Writer::new(buf);
        self.header.emit(self.counts()?, &mut w);
        for q in &self.questions {
            w.name(&q.name, true);
            w.u16(q.qtype.0);
            w.u16(q.qclass.0);
        }
        for r in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            r.emit(&mut w)?;
        }
        if let Some(e) = &self.edns {
            e.emit(&mut w);
        }
        Ok(())
    }

    /// Appends the message to `buf`, at most `limit` bytes of it when that
    /// can be helped (RFC 2181 §9). When it does not fit, first the additional
    /// section (but not OPT) is dropped, which sets TC only if
    /// `additional_needed` (referral glue, RFC 9471); if it still does not
    /// fit, only the question and OPT are sent, with TC set. Returns whether
    /// TC was set.
    pub fn emit_limited(
        &self,
        buf: &mut Vec<u8>,
        limit: usize,
        additional_needed: bool,
    ) -> Result<bool, EmitError> {
        let start = buf.len();
        self.emit(buf)?;
        if buf.len() - start <= limit {
            return Ok(false);
        }
        buf.truncate(start);
        let mut m = Message {
            header: self.header,
            questions: self.questions.clone(),
            answers: self.answers.clone(),
            authority: self.authority.clone(),
            additional: Vec::new(),
            edns: self.edns.clone(),
        };
        if !self.additional.is_empty() {
            m.header.tc = additional_needed;
            m.emit(buf)?;
            if buf.len() - start <= limit {
                return Ok(additional_needed);
            }
            buf.truncate(start);
        }
        m.answers.clear();
        m.authority.clear();
        m.header.tc = true;
        m.emit(buf)?;
        Ok(true)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::Ipv4Addr;

    /// `dig +norec example.com A` with EDNS, as captured.
    const QUERY: &[u8] = b"\xab\xcd\x00\x20\x00\x01\x00\x00\x00\x00\x00\x01\x07example\x03com\x00\x00\x01\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";

    #[test]
    fn test_parse_query() {
        let m = Message::parse(QUERY).unwrap();
        assert_eq!(m.header.id, 0xabcd);
        assert!(m.header.ad && !m.header.rd);
        assert_eq!(m.questions[0].name.to_string(), "example.com.");
        assert_eq!(m.questions[0].qtype, Type::A);
        assert_eq!(m.edns.as_ref().unwrap().udp_payload_size, 1232);
        let mut out = Vec::new();
        m.emit(&mut out).unwrap();
        assert_eq!(out, QUERY);
    }

    #[test]
    fn test_huge_counts_do_not_allocate() {
        let mut q = QUERY[..12].to_vec();
        q[4..12].copy_from_slice(&[0xff; 8]);
        assert_eq!(Message::parse(&q), Err(WireError::Truncated(Field::Name)));
    }

    #[test]
    fn test_opt_rules() {
        let mut two = QUERY.to_vec();
        two[11] = 2;
        two.extend_from_slice(&QUERY[QUERY.len() - 11..]);
        assert_eq!(Message::parse(&two), Err(WireError::MultipleOpt));
        let mut trailing = QUERY.to_vec();
        trailing.push(0);
        assert_eq!(Message::parse(&trailing), Err(WireError::TrailingBytes(1)));
    }

    #[test]
    fn test_emit_limited() {
        let mut m = Message::parse(QUERY).unwrap();
        let name: Name = "example.com".parse().unwrap();
        for i in 0..40 {
            m.answers.push(Record {
                name: name.clone(),
                class: Class::IN,
                ttl: 60,
                data: RData::A(Ipv4Addr::new(10, 0, 0, i)),
            });
        }
        let mut out = Vec::new();
        assert!(m.emit_limited(&mut out, 512, false).unwrap());
        let t = Message::parse(&out).unwrap();
        assert!(t.header.tc && t.answers.is_empty() && t.edns.is_some());
        out.clear();
        assert!(!m.emit_limited(&mut out, 4096, false).unwrap());
        assert_eq!(Message::parse(&out).unwrap().answers.len(), 40);
    }
}
