//! A secondary server's side of the zones it copies: the SOA check and
//! AXFR/IXFR over any [`Stack`], and the refresh, retry and expire timers
//! of RFC 1034 §4.3.5 driven by [`Time`], with NOTIFY (RFC 1996) as a
//! prompt to check at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{Either, select};
use mirage_core::{Instant, Stack, TcpFlow, Time, UdpSocket, WallClock, timeout};

use super::history::serial_gt;
use super::primary::Changes;
use super::transfer::{TransferError, TransferReader};
use super::zoneset::Zones;
use crate::tsig::{Key, Signer};
use crate::wire::{Class, Header, Message, Name, Question, RData, Rcode, Record, Type};
use crate::zone::Zone;

/// One zone copied from a primary.
#[derive(Debug, Clone)]
pub struct SecondaryZone {
    /// The zone's origin.
    pub origin: Name,
    /// The primary's address.
    pub primary: SocketAddr,
    /// The key that signs our SOA queries and transfers, if any.
    pub key: Option<Arc<Key>>,
}

/// Choices for [`run_secondary`].
#[derive(Debug, Clone)]
pub struct SecondaryOptions {
    /// The zones to copy.
    pub zones: Vec<SecondaryZone>,
    /// Most records a transferred zone may hold.
    pub max_records: usize,
    /// How long to wait for each answer (and each message of a transfer).
    pub timeout: Duration,
    /// The shortest wait between checks of a zone, whatever its SOA says.
    pub min_interval: Duration,
    /// The retry interval while no copy of a zone was ever obtained.
    pub initial_retry: Duration,
}

impl Default for SecondaryOptions {
    fn default() -> SecondaryOptions {
        SecondaryOptions {
            zones: Vec::new(),
            max_records: 1_000_000,
            timeout: Duration::from_secs(10),
            min_interval: Duration::from_secs(5),
            initial_retry: Duration::from_secs(10),
        }
    }
}

/// One SOA query to `primary` over UDP; the SOA record of the answer.
async fn query_soa<S: Stack, C: Time + WallClock>(
    stack: &S,
    clock: &C,
    z: &SecondaryZone,
    wait: Duration,
) -> Result<Record, TransferError> {
    let any: IpAddr = match z.primary {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let sock = stack
        .udp_bind(SocketAddr::new(any, 0))
        .await
        .map_err(TransferError::Stack)?;
    let id = (clock.now_posix().nanos as u16) ^ 0x5a5a;
    let (bytes, mut signer) = request(clock, z, id, Type::SOA, None)?;
    sock.send_to(&bytes, z.primary)
        .await
        .map_err(TransferError::Stack)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, from) = match timeout(clock, wait, sock.recv_from(&mut buf)).await {
            Ok(r) => r.map_err(TransferError::Stack)?,
            Err(_) => return Err(TransferError::Timeout),
        };
        let answer = &buf[..n];
        if from != z.primary || n < 12 || u16::from_be_bytes([answer[0], answer[1]]) != id {
            continue;
        }
        let msg = check_answer(answer, signer.as_mut())?;
        return msg
            .answers
            .into_iter()
            .find(|r| r.name == z.origin && r.rtype() == Type::SOA)
            .ok_or(TransferError::NoSoa);
    }
}

/// A query for `qtype` of the zone, with `soa` in the authority section
/// (IXFR), signed when the zone has a key.
fn request<C: WallClock>(
    clock: &C,
    z: &SecondaryZone,
    id: u16,
    qtype: Type,
    soa: Option<&Record>,
) -> Result<(Vec<u8>, Option<Signer>), TransferError> {
    let msg = Message {
        header: Header {
            id,
            ..Header::default()
        },
        questions: vec![Question {
            name: z.origin.clone(),
            qtype,
            qclass: Class::IN,
        }],
        authority: soa.into_iter().cloned().collect(),
        ..Message::default()
    };
    let mut bytes = Vec::new();
    msg.emit(&mut bytes)
        .map_err(|_| TransferError::Wire(crate::wire::WireError::ShortHeader))?;
    let signer = match &z.key {
        Some(k) => {
            let mut s = Signer::new(k.clone(), Vec::new());
            let now = clock.now_posix().secs.max(0) as u64;
            s.sign(&mut bytes, now)
                .map_err(|_| TransferError::Wire(crate::wire::WireError::ShortHeader))?;
            Some(s)
        }
        None => None,
    };
    Ok((bytes, signer))
}

/// Parses an answer, checks its RCODE and, with a signer, its TSIG.
/// Returns the message (TSIG record left out of the additional section).
fn check_answer(answer: &[u8], signer: Option<&mut Signer>) -> Result<Message, TransferError> {
    if let Some(s) = signer {
        s.verify_response(answer).map_err(TransferError::Tsig)?;
    }
    let msg = Message::parse(answer).map_err(TransferError::Wire)?;
    if msg.rcode() != Rcode::NOERROR {
        return Err(TransferError::Rcode(msg.rcode()));
    }
    Ok(msg)
}

/// Transfers the zone over TCP: IXFR from `current` when we have it, AXFR
/// otherwise. `Ok(None)` when the primary says we are up to date.
pub async fn transfer<S: Stack, C: Time + WallClock>(
    stack: &S,
    clock: &C,
    z: &SecondaryZone,
    current: Option<&Zone>,
    options: &SecondaryOptions,
) -> Result<Option<Zone>, TransferError> {
    let wait = options.timeout;
    let mut flow = match timeout(clock, wait, stack.tcp_connect(z.primary)).await {
        Ok(r) => r.map_err(TransferError::Stack)?,
        Err(_) => return Err(TransferError::Timeout),
    };
    let id = (clock.now_posix().nanos as u16) ^ 0xa5a5;
    let (qtype, soa) = match current {
        Some(zone) => (Type::IXFR, Some(zone.soa_record())),
        None => (Type::AXFR, None),
    };
    let (bytes, mut signer) = request(clock, z, id, qtype, soa)?;
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    match timeout(clock, wait, flow.write_all(&framed)).await {
        Ok(r) => r.map_err(TransferError::Stack)?,
        Err(_) => return Err(TransferError::Timeout),
    }
    let mut reader = TransferReader::new(z.origin.clone(), current, options.max_records);
    let mut inbuf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut last_signed = true;
    while !reader.is_done() {
        // One whole framed message, at most 65535 bytes.
        while inbuf.len() < 2 || inbuf.len() < 2 + u16::from_be_bytes([inbuf[0], inbuf[1]]) as usize
        {
            let n = match timeout(clock, wait, flow.read(&mut chunk)).await {
                Ok(r) => r.map_err(TransferError::Stack)?,
                Err(_) => return Err(TransferError::Timeout),
            };
            if n == 0 {
                return Err(TransferError::Closed);
            }
            inbuf.extend_from_slice(&chunk[..n]);
        }
        let len = u16::from_be_bytes([inbuf[0], inbuf[1]]) as usize;
        let message: Vec<u8> = inbuf.drain(..2 + len).skip(2).collect();
        if message.len() < 12 || u16::from_be_bytes([message[0], message[1]]) != id {
            return Err(TransferError::Sequence);
        }
        if let Some(s) = signer.as_mut() {
            last_signed = s.verify_response(&message).map_err(TransferError::Tsig)?;
        }
        let msg = Message::parse(&message).map_err(TransferError::Wire)?;
        if msg.rcode() != Rcode::NOERROR {
            return Err(TransferError::Rcode(msg.rcode()));
        }
        for r in msg.answers {
            reader.push(r)?;
        }
        reader.end_of_message();
    }
    if !last_signed {
        return Err(TransferError::Tsig(crate::tsig::TsigRcode::BADSIG));
    }
    let _ = flow.close().await;
    reader.finish()
}

/// What the secondary knows of one zone.
struct Slot {
    next_check: Instant,
    /// When the copy expires: no answers after that until a transfer works.
    expires: Option<Instant>,
}

fn soa_fields(zone: &Zone) -> (u32, u32, u32) {
    let s = zone.soa();
    (s.refresh, s.retry, s.expire)
}

/// Keeps the zones of `options` in `zones` fresh (a copy already in `zones`
/// at the start, say loaded from the store, is the base and lives for its
/// expire interval): checks each primary's
/// SOA when the refresh timer of the zone's SOA fires (or a NOTIFY for it
/// arrives through `changes`), transfers when the serial is newer, and
/// swaps the new copy in. While the primary cannot be reached the last
/// good copy is served, checked again every retry interval, and dropped
/// once the expire interval passes without a successful check. Each new
/// copy is marked in `changes` as updated, so a server with a store writes
/// it back. Never returns.
pub async fn run_secondary<S: Stack, C: Time + WallClock>(
    stack: &S,
    clock: &C,
    zones: Zones,
    options: SecondaryOptions,
    changes: &Changes,
) {
    let start = clock.now();
    // A copy loaded at boot (from the store) lives for its expire interval.
    let mut slots: Vec<Slot> = options
        .zones
        .iter()
        .map(|z| Slot {
            next_check: start,
            expires: zones.current().get(&z.origin).map(|c| {
                start + Duration::from_secs(soa_fields(c).2 as u64).max(options.min_interval)
            }),
        })
        .collect();
    loop {
        let now = clock.now();
        for (z, slot) in options.zones.iter().zip(slots.iter_mut()) {
            if slot.next_check > now {
                continue;
            }
            let current = zones.current().get(&z.origin).cloned();
            let outcome = check(stack, clock, z, current.as_ref(), &options).await;
            let now = clock.now();
            let secs = |s: u32| Duration::from_secs(s as u64).max(options.min_interval);
            match outcome {
                Ok(new) => {
                    if let Some(new) = new {
                        log::info!("transferred {} serial {}", z.origin, new.soa().serial);
                        zones.swap(zones.current().with_zone(new));
                        changes.mark_updated(&z.origin);
                    }
                    let held = zones.current().get(&z.origin).map(soa_fields);
                    let (refresh, _, expire) = held.unwrap_or((0, 0, 0));
                    slot.next_check = now + secs(refresh);
                    slot.expires = held.map(|_| now + secs(expire));
                }
                Err(e) => {
                    log::warn!("refreshing {} from {}: {e}", z.origin, z.primary);
                    let retry = current
                        .as_ref()
                        .map_or(options.initial_retry, |c| secs(soa_fields(c).1));
                    slot.next_check = now + retry;
                    if slot.expires.is_some_and(|t| t <= now) && current.is_some() {
                        log::warn!("{} expired; no longer served", z.origin);
                        let rest: Vec<Zone> = zones
                            .current()
                            .zones()
                            .filter(|x| *x.origin() != z.origin)
                            .cloned()
                            .collect();
                        zones.swap(super::zoneset::ZoneSet::new(rest));
                        slot.expires = None;
                    }
                }
            }
        }
        let next = slots
            .iter()
            .map(|s| s.next_check)
            .min()
            .unwrap_or(Instant::MAX);
        let sleep = std::pin::pin!(clock.sleep_until(next));
        let notified = std::pin::pin!(changes.notified());
        if let Either::Right((origins, _)) = select(sleep, notified).await {
            let now = clock.now();
            for (z, slot) in options.zones.iter().zip(slots.iter_mut()) {
                if origins.contains(&z.origin) {
                    slot.next_check = now;
                }
            }
        }
    }
}

/// Checks the primary's serial and transfers when it is newer.
async fn check<S: Stack, C: Time + WallClock>(
    stack: &S,
    clock: &C,
    z: &SecondaryZone,
    current: Option<&Zone>,
    options: &SecondaryOptions,
) -> Result<Option<Zone>, TransferError> {
    let soa = query_soa(stack, clock, z, options.timeout).await?;
    let serial = match &soa.data {
        RData::Soa(s) => s.serial,
        _ => return Err(TransferError::NoSoa),
    };
    if current.is_some_and(|c| !serial_gt(serial, c.soa().serial)) {
        return Ok(None);
    }
    transfer(stack, clock, z, current, options).await
}
