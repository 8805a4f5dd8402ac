//! A primary server: the plain [`Responder`] plus TSIG, zone transfers
//! (AXFR, IXFR from a [`History`]), dynamic UPDATE and the bookkeeping that
//! lets the serving loop write updated zones back and notify secondaries.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use mirage_core::WallClock;

use super::history::{History, serial_gt};
use super::policy::Policy;
use super::respond::{Responder, Transport};
use super::update::apply_update;
use super::xfr::{axfr_records, ixfr_records, pack};
use super::zoneset::{ZoneSet, Zones};
use crate::tsig::{Verified, verify};
use crate::wire::{Header, Message, Name, Opcode, RData, Rcode, Reply, Type};

/// Answers one request; what the UDP and TCP loops drive.
pub trait Handler {
    /// Answers `query` from `peer`: the (first) answer into `out`, which
    /// is cleared first, and any further messages of the answer (a zone
    /// transfer over TCP) pushed onto `more`. Returns `false` when nothing
    /// must be sent.
    fn handle(
        &mut self,
        query: &[u8],
        transport: Transport,
        peer: SocketAddr,
        out: &mut Vec<u8>,
        more: &mut Vec<Vec<u8>>,
    ) -> bool;
}

impl Handler for Responder {
    fn handle(
        &mut self,
        query: &[u8],
        transport: Transport,
        _peer: SocketAddr,
        out: &mut Vec<u8>,
        _more: &mut Vec<Vec<u8>>,
    ) -> bool {
        self.respond(query, transport, out)
    }
}

/// A queue of zone origins with a waiting consumer: the primary pushes,
/// a task of the serving loop takes them in batches.
#[derive(Debug, Default)]
struct Queue {
    items: RefCell<Vec<Name>>,
    waker: RefCell<Option<Waker>>,
}

impl Queue {
    fn push(&self, origin: &Name) {
        let mut items = self.items.borrow_mut();
        if !items.contains(origin) {
            items.push(origin.clone());
        }
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    async fn take(&self) -> Vec<Name> {
        poll_fn(|cx| {
            let items = std::mem::take(&mut *self.items.borrow_mut());
            if items.is_empty() {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(items)
            }
        })
        .await
    }
}

/// What a primary tells the tasks around it: zones changed by UPDATE (to
/// write back), zones whose serial changed (to notify), NOTIFYs answered.
#[derive(Debug, Default)]
pub struct Changes {
    updated: Queue,
    new_serial: Queue,
    notified: Queue,
    acked: RefCell<HashSet<u16>>,
}

impl Changes {
    /// Waits for zones changed by dynamic update; returns their origins.
    pub async fn updated(&self) -> Vec<Name> {
        self.updated.take().await
    }

    /// Waits for zones whose serial changed; returns their origins.
    pub async fn new_serials(&self) -> Vec<Name> {
        self.new_serial.take().await
    }

    /// Marks a zone as changed here, to be written back to the store.
    pub fn mark_updated(&self, origin: &Name) {
        self.updated.push(origin);
    }

    /// Waits for NOTIFYs accepted for zones we copy; returns their origins.
    pub async fn notified(&self) -> Vec<Name> {
        self.notified.take().await
    }

    /// Whether a NOTIFY with this ID was answered (and forgets it).
    pub fn take_ack(&self, id: u16) -> bool {
        self.acked.borrow_mut().remove(&id)
    }

    /// Forgets answers to NOTIFYs no longer waited for.
    pub fn clear_acks(&self) {
        self.acked.borrow_mut().clear();
    }
}

/// Choices for a [`Primary`].
#[derive(Debug, Clone)]
pub struct PrimaryOptions {
    /// Keys and access rules.
    pub policy: Policy,
    /// Most versions of each zone kept for IXFR.
    pub history_versions: usize,
    /// Most records in the kept differences of each zone.
    pub history_records: usize,
    /// Zones copied from other primaries (none by default).
    pub secondary: super::secondary::SecondaryOptions,
}

impl Default for PrimaryOptions {
    fn default() -> PrimaryOptions {
        PrimaryOptions {
            policy: Policy::default(),
            history_versions: 16,
            history_records: 100_000,
            secondary: Default::default(),
        }
    }
}

/// Most NOTIFY answers remembered while waiting for them.
const MAX_ACKS: usize = 1024;

/// The request handler of a primary server.
#[derive(Debug)]
pub struct Primary<C> {
    responder: Responder,
    zones: Zones,
    seen: Arc<ZoneSet>,
    policy: Policy,
    history: History,
    clock: C,
    changes: Rc<Changes>,
}

impl<C: WallClock> Primary<C> {
    /// A primary answering from `zones`, taking the time for TSIG from `clock`.
    pub fn new(
        responder: Responder,
        zones: Zones,
        options: PrimaryOptions,
        clock: C,
    ) -> Primary<C> {
        Primary {
            seen: zones.current(),
            responder,
            zones,
            policy: options.policy,
            history: History::new(options.history_versions, options.history_records),
            clock,
            changes: Rc::new(Changes::default()),
        }
    }

    /// The change notices, shared with the serving loop's tasks.
    pub fn changes(&self) -> Rc<Changes> {
        self.changes.clone()
    }

    /// The access rules.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Takes note of a zone set swapped in since the last look: records the
    /// differences for IXFR and queues NOTIFYs for new serials.
    pub fn observe(&mut self) {
        let old = self.seen.clone();
        if !self.zones.refresh(&mut self.seen) {
            return;
        }
        self.history.record(&old, &self.seen);
        for z in self.seen.zones() {
            if old.get(z.origin()).map(|o| o.soa().serial) != Some(z.soa().serial) {
                self.changes.new_serial.push(z.origin());
            }
        }
    }

    /// The largest UDP answer the client of `msg` takes (RFC 6891 §6.2.5).
    fn udp_limit(&self, msg: &Message) -> usize {
        let ours = self.responder.options().max_udp_payload.max(512);
        msg.edns
            .as_ref()
            .map_or(512, |e| e.effective_payload().min(ours)) as usize
    }

    fn now(&self) -> u64 {
        self.clock.now_posix().secs.max(0) as u64
    }

    /// The answer header for `msg`.
    fn header(msg: &Header) -> Header {
        Header {
            id: msg.id,
            qr: true,
            opcode: msg.opcode,
            rd: msg.rd,
            ..Header::default()
        }
    }

    /// Writes an answer with no records and `rcode`, signed when `signed`.
    fn bare(
        &self,
        msg: &Message,
        rcode: Rcode,
        aa: bool,
        signed: Option<&Verified>,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut resp = Message {
            header: Header {
                aa,
                ..Primary::<C>::header(&msg.header)
            },
            questions: msg.questions.clone(),
            ..Message::default()
        };
        resp.set_rcode(rcode);
        out.clear();
        if resp.emit(out).is_err() {
            return false;
        }
        if let Some(v) = signed {
            let _ = v.signer().sign(out, self.now());
        }
        true
    }

    fn transfer(
        &mut self,
        msg: &Message,
        verified: Option<&Verified>,
        transport: Transport,
        peer: SocketAddr,
        out: &mut Vec<u8>,
        more: &mut Vec<Vec<u8>>,
    ) -> bool {
        let q = &msg.questions[0];
        let Some(zone) = self.seen.get(&q.name) else {
            return self.bare(msg, Rcode::NOTAUTH, false, verified, out);
        };
        let rules = self.policy.for_zone(zone.origin());
        if !rules
            .transfer
            .allows(verified.map(|v| &v.key.name), peer.ip())
        {
            log::info!("refused {} of {} to {peer}", q.qtype, q.name);
            return self.bare(msg, Rcode::REFUSED, false, verified, out);
        }
        let current = zone.soa().serial;
        let records = if q.qtype == Type::IXFR {
            let client = msg.authority.iter().find_map(|r| match &r.data {
                RData::Soa(s) if r.name == *zone.origin() => Some(s.serial),
                _ => None,
            });
            let Some(client) = client else {
                return self.bare(msg, Rcode::FORMERR, false, verified, out);
            };
            if !serial_gt(current, client) || transport == Transport::Udp {
                // Up to date, or over UDP: the current SOA says where we are.
                vec![zone.soa_record()]
            } else {
                match self.history.since(zone.origin(), client, current) {
                    Some(chain) => ixfr_records(zone, &chain),
                    None => axfr_records(zone),
                }
            }
        } else if transport == Transport::Udp {
            return self.bare(msg, Rcode::REFUSED, false, verified, out);
        } else {
            axfr_records(zone)
        };
        let header = Header {
            aa: true,
            ..Primary::<C>::header(&msg.header)
        };
        let Ok(mut messages) = pack(header, q, &records) else {
            return self.bare(msg, Rcode::SERVFAIL, false, verified, out);
        };
        if let Some(v) = verified {
            let now = self.now();
            let mut signer = v.signer();
            for m in &mut messages {
                if signer.sign(m, now).is_err() {
                    return self.bare(msg, Rcode::SERVFAIL, false, verified, out);
                }
            }
        }
        log::info!("{} of {} (serial {current}) to {peer}", q.qtype, q.name);
        let mut messages = messages.into_iter();
        *out = messages.next().unwrap_or_default();
        more.extend(messages);
        true
    }

    /// A NOTIFY (RFC 1996 §3.7): acknowledged, and the zone checked soon,
    /// when the zone's policy allows the sender; REFUSED otherwise.
    fn notify(
        &mut self,
        msg: &Message,
        verified: Option<&Verified>,
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> bool {
        if msg.questions.len() != 1 || msg.questions[0].qtype != Type::SOA {
            return self.bare(msg, Rcode::FORMERR, false, verified, out);
        }
        let origin = &msg.questions[0].name;
        let rules = self.policy.for_zone(origin);
        if !rules
            .notify_from
            .allows(verified.map(|v| &v.key.name), peer.ip())
        {
            log::info!("refused NOTIFY for {origin} from {peer}");
            return self.bare(msg, Rcode::REFUSED, false, verified, out);
        }
        log::info!("NOTIFY for {origin} from {peer}");
        self.changes.notified.push(origin);
        self.bare(msg, Rcode::NOERROR, true, verified, out)
    }

    fn update(
        &mut self,
        msg: &Message,
        verified: Option<&Verified>,
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> bool {
        if msg.questions.len() != 1 || msg.questions[0].qtype != Type::SOA {
            return self.bare(msg, Rcode::FORMERR, false, verified, out);
        }
        let origin = &msg.questions[0].name;
        let Some(zone) = self.seen.get(origin) else {
            return self.bare(msg, Rcode::NOTAUTH, false, verified, out);
        };
        let key = verified.map(|v| &v.key.name);
        if !key.is_some_and(|k| self.policy.for_zone(zone.origin()).update.keys.contains(k)) {
            log::info!("refused update of {origin} from {peer}");
            return self.bare(msg, Rcode::REFUSED, false, verified, out);
        }
        let rcode = match apply_update(zone, msg) {
            Err(rcode) => rcode,
            Ok(None) => Rcode::NOERROR,
            Ok(Some(new)) => {
                log::info!(
                    "update of {origin} from {peer}: serial {}",
                    new.soa().serial
                );
                let origin = new.origin().clone();
                self.zones.swap(self.seen.with_zone(new));
                self.observe();
                self.changes.updated.push(&origin);
                Rcode::NOERROR
            }
        };
        self.bare(msg, rcode, false, verified, out)
    }
}

/// The size of the TSIG record our signature with `v`'s key adds.
fn tsig_len(v: &Verified) -> usize {
    let k = &v.key;
    k.name.as_wire().len() + 10 + k.algorithm.wire().len() + 16 + k.algorithm.mac_len()
}

/// Whether a plain query asks for a zone transfer (reads the first question's type).
fn asks_transfer(q: &[u8]) -> bool {
    let mut pos = 12;
    while let Some(&l) = q.get(pos) {
        if l == 0 {
            let t = q
                .get(pos + 1..pos + 3)
                .map(|b| u16::from_be_bytes([b[0], b[1]]));
            return matches!(t, Some(251 | 252));
        }
        if l & 0xC0 != 0 {
            return true;
        }
        pos += l as usize + 1;
    }
    false
}

impl<C: WallClock> Handler for Primary<C> {
    fn handle(
        &mut self,
        query: &[u8],
        transport: Transport,
        peer: SocketAddr,
        out: &mut Vec<u8>,
        more: &mut Vec<Vec<u8>>,
    ) -> bool {
        out.clear();
        if query.len() < 12 {
            return false;
        }
        self.observe();
        let opcode = Opcode((query[2] >> 3) & 0xF);
        if query[2] & 0x80 != 0 {
            // An answer to one of our NOTIFYs.
            let mut acked = self.changes.acked.borrow_mut();
            if opcode == Opcode::NOTIFY && acked.len() < MAX_ACKS {
                acked.insert(u16::from_be_bytes([query[0], query[1]]));
            }
            return false;
        }
        // Plain queries (an OPT record allowed, no TSIG) go straight to the
        // responder and its memo.
        let has_additional = query[10..12] != [0, 0];
        if opcode == Opcode::QUERY
            && !asks_transfer(query)
            && (!has_additional || matches!(crate::tsig::find_tsig(query), Ok(None)))
        {
            return self.responder.respond(query, transport, out);
        }
        let now = self.now();
        let verified = match verify(&self.policy.keys, query, now) {
            Ok(v) => v,
            Err(rejection) => {
                log::info!("TSIG from {peer}: {:?}", rejection.error);
                let (id, flags) = (
                    u16::from_be_bytes([query[0], query[1]]),
                    u16::from_be_bytes([query[2], query[3]]),
                );
                let mut msg = Message::parse(query).unwrap_or_default();
                msg.header = Header::from_flags(id, flags);
                msg.answers.clear();
                msg.authority.clear();
                msg.additional.clear();
                msg.edns = None;
                if !self.bare(&msg, rejection.rcode(), false, None, out) {
                    return false;
                }
                return rejection.finish(out, now).is_ok();
            }
        };
        let msg = match Message::parse(query) {
            Ok(m) => m,
            Err(e) if e.reply() == Reply::Drop => return false,
            Err(_) => {
                // FORMERR from the plain responder, which knows how.
                return self.responder.respond(query, transport, out);
            }
        };
        let is_transfer =
            msg.questions.len() == 1 && matches!(msg.questions[0].qtype, Type::AXFR | Type::IXFR);
        match opcode {
            Opcode::QUERY if is_transfer => {
                self.transfer(&msg, verified.as_ref(), transport, peer, out, more)
            }
            Opcode::UPDATE => self.update(&msg, verified.as_ref(), peer, out),
            Opcode::NOTIFY => self.notify(&msg, verified.as_ref(), peer, out),
            _ => {
                if !self.responder.respond(query, transport, out) {
                    return false;
                }
                if let Some(v) = &verified {
                    let limit = self.udp_limit(&msg);
                    if transport == Transport::Udp && out.len() + tsig_len(v) > limit {
                        // No room for the signature: a signed, truncated
                        // answer sends the client to TCP (RFC 8945 §5.3).
                        let mut header = Primary::<C>::header(&msg.header);
                        header.tc = true;
                        header.aa = out.len() > 2 && out[2] & 0x04 != 0;
                        let cut = Message {
                            header,
                            questions: msg.questions.clone(),
                            ..Message::default()
                        };
                        out.clear();
                        if cut.emit(out).is_err() {
                            return false;
                        }
                    }
                    let _ = v.signer().sign(out, now);
                }
                true
            }
        }
    }
}
