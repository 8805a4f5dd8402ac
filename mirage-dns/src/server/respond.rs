//! The pure core of the server: query bytes in, response bytes out, over
//! the current zone set, with responses memoised by lowercase question.

use std::collections::HashMap;
use std::sync::Arc;

use super::lookup::resolve_with;
use super::zoneset::{ZoneSet, Zones};
use crate::wire::{CLASSIC_UDP_SIZE, Class, Edns, Header, Message, Opcode, Rcode, Reply, Type};

/// Choices for a [`Responder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The largest UDP response sent, and the size advertised in our OPT
    /// record (1232 avoids IP fragmentation, as DNS Flag Day 2020 advises).
    pub max_udp_payload: u16,
    /// How many responses are memoised before the memo is cleared; 0
    /// disables the memo.
    pub cache_capacity: usize,
    /// How many bytes of memoised responses (and their keys) are kept
    /// before the memo is cleared; 0 disables the memo.
    pub memo_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_udp_payload: 1232,
            cache_capacity: 65_536,
            memo_bytes: 8 << 20,
        }
    }
}

/// How the query arrived, which bounds the response size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 bytes, or the EDNS payload size (RFC 6891 §6.2.5).
    Udp,
    /// TCP: up to 65535 bytes.
    Tcp,
}

/// A question read without allocating, for the memo.
struct Fast {
    qname_len: usize,
    edns_payload: Option<u16>,
}

/// Bit in the memo key byte: the query had an OPT record.
const KEY_EDNS: u8 = 1;
/// Bit in the memo key byte: DNSSEC OK was set.
const KEY_DO: u8 = 2;

/// Answers queries from a [`Zones`] slot; remembers answers until the zone set changes.
#[derive(Debug)]
pub struct Responder {
    zones: Zones,
    current: Arc<ZoneSet>,
    options: Options,
    memo: HashMap<Box<[u8]>, Box<[u8]>>,
    /// Bytes held by `memo`, keys and values.
    memo_used: usize,
    key: Vec<u8>,
}

impl Responder {
    /// A responder answering from `zones`.
    pub fn new(zones: Zones, options: Options) -> Responder {
        let current = zones.current();
        Responder {
            zones,
            current,
            options,
            memo: HashMap::new(),
            memo_used: 0,
            key: Vec::with_capacity(260),
        }
    }

    /// The options in force.
    pub fn options(&self) -> Options {
        self.options
    }

    /// Answers `query` into `out` (cleared first). Returns `false` when
    /// nothing must be sent: the datagram is too short to hold a header, or
    /// it is itself a response.
    pub fn respond(&mut self, query: &[u8], transport: Transport, out: &mut Vec<u8>) -> bool {
        out.clear();
        if query.len() < 12 || query[2] & 0x80 != 0 {
            return false;
        }
        if self.zones.refresh(&mut self.current) {
            self.memo.clear();
            self.memo_used = 0;
        }
        let fast = self.fast_key(query);
        if let Some(f) = &fast {
            let limit = self.limit(transport, f.edns_payload);
            if let Some(t) = self.memo.get(&self.key[..])
                && t.len() <= limit
            {
                out.extend_from_slice(t);
                out[..2].copy_from_slice(&query[..2]);
                out[2] |= query[2] & 0x01;
                out[3] |= query[3] & 0x10;
                out[12..12 + f.qname_len].copy_from_slice(&query[12..12 + f.qname_len]);
                return true;
            }
        }
        let Some(tc) = self.answer_slow(query, transport, out) else {
            return false;
        };
        // Memoise only answers that echo the question where a hit patches it.
        let echoes_question = |f: &Fast| out.len() >= 12 + f.qname_len && out[4..6] == [0, 1];
        if fast.as_ref().is_some_and(echoes_question) && !tc {
            let size = self.key.len() + out.len();
            if self.memo_used + size > self.options.memo_bytes
                || self.memo.len() >= self.options.cache_capacity
            {
                self.memo.clear();
                self.memo_used = 0;
            }
            if size <= self.options.memo_bytes && self.options.cache_capacity > 0 {
                let mut t: Box<[u8]> = out[..].into();
                t[2] &= !0x01;
                t[3] &= !0x10;
                self.memo.insert(self.key[..].into(), t);
                self.memo_used += size;
            }
        }
        true
    }

    fn limit(&self, transport: Transport, edns_payload: Option<u16>) -> usize {
        match transport {
            Transport::Tcp => u16::MAX as usize,
            Transport::Udp => match edns_payload {
                None => CLASSIC_UDP_SIZE as usize,
                Some(p) => p
                    .max(CLASSIC_UDP_SIZE)
                    .min(self.options.max_udp_payload.max(CLASSIC_UDP_SIZE))
                    as usize,
            },
        }
    }

    /// Reads a plain query (one uncompressed question, at most an OPT
    /// record of version 0) and builds its memo key in `self.key`.
    fn fast_key(&mut self, q: &[u8]) -> Option<Fast> {
        let u16_at = |i: usize| q.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if (q[2] >> 3) & 0xF != Opcode::QUERY.0
            || u16_at(4)? != 1
            || u16_at(6)? != 0
            || u16_at(8)? != 0
            || u16_at(10)? > 1
        {
            return None;
        }
        let mut pos = 12;
        loop {
            let l = *q.get(pos)? as usize;
            if l & 0xC0 != 0 || pos - 12 + l + 1 > 255 {
                return None;
            }
            pos += l + 1;
            if l == 0 {
                break;
            }
        }
        let qname_len = pos - 12;
        let qtype = q.get(pos..pos + 4)?;
        pos += 4;
        let mut flags = 0;
        let mut edns_payload = None;
        if u16_at(10)? == 1 {
            if *q.get(pos)? != 0 || u16_at(pos + 1)? != Type::OPT.0 || *q.get(pos + 6)? != 0 {
                return None;
            }
            edns_payload = Some(u16_at(pos + 3)?);
            flags |= KEY_EDNS;
            if q.get(pos + 7)? & 0x80 != 0 {
                flags |= KEY_DO;
            }
            let rdlen = u16_at(pos + 9)? as usize;
            let mut o = pos + 11;
            let end = o + rdlen;
            while o < end {
                o += 4 + u16_at(o + 2)? as usize;
            }
            if o != end {
                return None;
            }
            pos = end;
        }
        if pos != q.len() {
            return None;
        }
        self.key.clear();
        self.key.push(flags);
        self.key.extend_from_slice(qtype);
        self.key
            .extend(q[12..12 + qname_len].iter().map(u8::to_ascii_lowercase));
        Some(Fast {
            qname_len,
            edns_payload,
        })
    }

    /// Parses the query fully, resolves it and writes the response. Returns
    /// whether TC was set, or `None` when nothing must be sent.
    fn answer_slow(&self, query: &[u8], transport: Transport, out: &mut Vec<u8>) -> Option<bool> {
        let msg = match Message::parse(query) {
            Ok(m) => m,
            Err(e) => {
                if e.reply() == Reply::Drop {
                    return None;
                }
                let h = Header::from_flags(
                    u16::from_be_bytes([query[0], query[1]]),
                    u16::from_be_bytes([query[2], query[3]]),
                );
                let header = Header {
                    id: h.id,
                    qr: true,
                    opcode: h.opcode,
                    rd: h.rd,
                    rcode: Rcode::FORMERR.low(),
                    ..Header::default()
                };
                let resp = Message {
                    header,
                    ..Message::default()
                };
                return resp.emit(out).ok().map(|_| false);
            }
        };
        let header = Header {
            id: msg.header.id,
            qr: true,
            opcode: msg.header.opcode,
            rd: msg.header.rd,
            cd: msg.header.cd,
            ..Header::default()
        };
        let mut resp = Message {
            header,
            questions: msg.questions.clone(),
            edns: msg.edns.as_ref().map(|e| Edns {
                udp_payload_size: self.options.max_udp_payload,
                dnssec_ok: e.dnssec_ok,
                ..Edns::default()
            }),
            ..Message::default()
        };
        let limit = self.limit(transport, msg.edns.as_ref().map(|e| e.udp_payload_size));
        let mut glue_needed = false;
        let rcode = if msg.edns.as_ref().is_some_and(|e| e.version != 0) {
            Rcode::BADVERS
        } else if msg.opcode() != Opcode::QUERY {
            Rcode::NOTIMP
        } else if msg.questions.len() != 1 || !msg.answers.is_empty() || !msg.authority.is_empty() {
            Rcode::FORMERR
        } else {
            let q = &msg.questions[0];
            match q.qtype {
                Type::OPT => Rcode::FORMERR,
                Type::AXFR | Type::IXFR => Rcode::REFUSED,
                Type(253) | Type(254) => Rcode::NOTIMP,
                _ if q.qclass != Class::IN => Rcode::REFUSED,
                _ => match resolve_with(
                    &self.current,
                    &q.name,
                    q.qtype,
                    msg.edns.as_ref().is_some_and(|e| e.dnssec_ok),
                ) {
                    None => Rcode::REFUSED,
                    Some(a) => {
                        resp.header.aa = a.aa;
                        resp.answers = a.answer;
                        resp.authority = a.authority;
                        resp.additional = a.additional;
                        glue_needed = a.glue_needed;
                        a.rcode
                    }
                },
            }
        };
        resp.set_rcode(rcode);
        match resp.emit_limited(out, limit, glue_needed) {
            Ok(tc) => Some(tc),
            Err(_) => {
                out.clear();
                resp.answers.clear();
                resp.authority.clear();
                resp.additional.clear();
                resp.set_rcode(Rcode::SERVFAIL);
                resp.emit(out).ok().map(|_| false)
            }
        }
    }
}
