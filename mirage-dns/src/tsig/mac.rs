//! Computing TSIG MACs (RFC 8945 §4.3) and signing messages, one or a
//! stream of them (§5.3.1).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

use super::key::{Algorithm, Key};
use super::record::{Tsig, TsigRcode, find_tsig};
use crate::wire::{EmitError, HEADER_LEN};

/// The fudge we put in our signatures: 300 s, as RFC 8945 §10 recommends.
pub const FUDGE: u16 = 300;

/// A running HMAC of any supported algorithm.
enum Running {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl Running {
    fn new(key: &Key) -> Running {
        let s = &key.secret;
        // HMAC takes keys of any length, so these never fail.
        match key.algorithm {
            Algorithm::HmacSha1 => Running::Sha1(Hmac::new_from_slice(s).expect("any key length")),
            Algorithm::HmacSha256 => {
                Running::Sha256(Hmac::new_from_slice(s).expect("any key length"))
            }
            Algorithm::HmacSha384 => {
                Running::Sha384(Hmac::new_from_slice(s).expect("any key length"))
            }
            Algorithm::HmacSha512 => {
                Running::Sha512(Hmac::new_from_slice(s).expect("any key length"))
            }
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Running::Sha1(h) => h.update(data),
            Running::Sha256(h) => h.update(data),
            Running::Sha384(h) => h.update(data),
            Running::Sha512(h) => h.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Running::Sha1(h) => h.finalize().into_bytes().to_vec(),
            Running::Sha256(h) => h.finalize().into_bytes().to_vec(),
            Running::Sha384(h) => h.finalize().into_bytes().to_vec(),
            Running::Sha512(h) => h.finalize().into_bytes().to_vec(),
        }
    }
}

/// What goes into one MAC.
pub(crate) struct Digest<'a> {
    /// The MAC this one chains to (request MAC or previous response MAC), if any.
    pub prior: &'a [u8],
    /// The message without its TSIG record, with the ARCOUNT it had signed.
    pub message: &'a [u8],
    /// How much to subtract from the message's ARCOUNT (1 when the TSIG record was cut off).
    pub arcount_less: u16,
    /// The TSIG fields; only the timers are used when `timers_only`.
    pub tsig: &'a Tsig,
    /// Subsequent message of a stream: timers only (§5.3.1).
    pub timers_only: bool,
}

/// Computes the MAC of `d` with `key` (RFC 8945 §4.3.2–4.3.3).
pub(crate) fn compute(key: &Key, d: &Digest<'_>) -> Vec<u8> {
    let mut h = Running::new(key);
    if !d.prior.is_empty() {
        h.update(&(d.prior.len() as u16).to_be_bytes());
        h.update(d.prior);
    }
    let m = d.message;
    h.update(&d.tsig.original_id.to_be_bytes());
    h.update(&m[2..10]);
    let ar = u16::from_be_bytes([m[10], m[11]]).wrapping_sub(d.arcount_less);
    h.update(&ar.to_be_bytes());
    h.update(&m[HEADER_LEN..]);
    if !d.timers_only {
        h.update(&key.name.as_wire().to_ascii_lowercase());
        h.update(&255u16.to_be_bytes());
        h.update(&0u32.to_be_bytes());
        h.update(key.algorithm.wire());
    }
    h.update(&d.tsig.time_signed.to_be_bytes()[2..]);
    h.update(&d.tsig.fudge.to_be_bytes());
    if !d.timers_only {
        h.update(&d.tsig.error.0.to_be_bytes());
        h.update(&(d.tsig.other.len() as u16).to_be_bytes());
        h.update(&d.tsig.other);
    }
    h.finish()
}

/// Compares two MACs in time independent of where they differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Signs the messages of one exchange with one key: the answer to a
/// verified request (chained to its MAC), a request of ours, or each
/// message of a zone transfer in turn (each chained to the one before).
/// Also checks the signed messages a peer sends back.
#[derive(Debug, Clone)]
pub struct Signer {
    key: Arc<Key>,
    prior: Vec<u8>,
    /// Nothing signed yet: the next signature covers all the variables.
    first_sent: bool,
    /// Nothing verified yet: the next answer's signature covers all the variables.
    first_received: bool,
    /// Unsigned messages received since the last signed one (§5.3.1).
    pending: Vec<u8>,
    pending_count: usize,
}

/// Most unsigned messages a signed stream may hold in a row (RFC 8945 §5.3.1).
pub const MAX_UNSIGNED_RUN: usize = 99;

impl Signer {
    /// A signer with `key`, chaining its first signature to `prior` (the
    /// request's MAC when answering; empty when sending a request).
    pub fn new(key: impl Into<Arc<Key>>, prior: Vec<u8>) -> Signer {
        Signer {
            key: key.into(),
            prior,
            first_sent: true,
            first_received: true,
            pending: Vec::new(),
            pending_count: 0,
        }
    }

    /// The key in use.
    pub fn key(&self) -> &Arc<Key> {
        &self.key
    }

    /// The MAC of the last message signed or verified.
    pub fn last_mac(&self) -> &[u8] {
        &self.prior
    }

    /// Signs the unsigned message in `msg` (appends a TSIG record and
    /// counts it in ARCOUNT) at time `now` (seconds since the epoch).
    pub fn sign(&mut self, msg: &mut Vec<u8>, now: u64) -> Result<(), EmitError> {
        self.sign_with(msg, now, TsigRcode::NOERROR, Vec::new())
    }

    /// Like [`sign`](Self::sign) with a TSIG error and other data (BADTIME).
    pub fn sign_with(
        &mut self,
        msg: &mut Vec<u8>,
        now: u64,
        error: TsigRcode,
        other: Vec<u8>,
    ) -> Result<(), EmitError> {
        if msg.len() < HEADER_LEN {
            return Err(EmitError::TooManyRecords);
        }
        let ar = u16::from_be_bytes([msg[10], msg[11]])
            .checked_add(1)
            .ok_or(EmitError::TooManyRecords)?;
        let mut tsig = Tsig {
            algorithm: self.key.algorithm.domain_name(),
            time_signed: now & 0xFFFF_FFFF_FFFF,
            fudge: FUDGE,
            mac: Vec::new(),
            original_id: u16::from_be_bytes([msg[0], msg[1]]),
            error,
            other,
        };
        tsig.mac = compute(
            &self.key,
            &Digest {
                prior: &self.prior,
                message: msg,
                arcount_less: 0,
                tsig: &tsig,
                timers_only: !self.first_sent,
            },
        );
        self.first_sent = false;
        self.prior = tsig.mac.clone();
        tsig.emit_record(&self.key.name, msg);
        msg[10..12].copy_from_slice(&ar.to_be_bytes());
        Ok(())
    }

    /// Checks one message of the answer to a request we signed. Returns
    /// `Ok(true)` when it was signed and verified, `Ok(false)` when it was an
    /// unsigned message in the middle of a stream (allowed up to
    /// 99 (RFC 8945 §5.3.1) in a row, never first); the stream's last message
    /// must give `Ok(true)`.
    pub fn verify_response(&mut self, msg: &[u8]) -> Result<bool, TsigRcode> {
        let found = find_tsig(msg).map_err(|_| TsigRcode::BADSIG)?;
        let Some((start, name, tsig)) = found else {
            if self.first_received || self.pending_count >= MAX_UNSIGNED_RUN {
                return Err(TsigRcode::BADSIG);
            }
            self.pending.extend_from_slice(msg);
            self.pending_count += 1;
            return Ok(false);
        };
        if name != self.key.name || tsig.algorithm != self.key.algorithm.domain_name() {
            return Err(TsigRcode::BADKEY);
        }
        if tsig.error != TsigRcode::NOERROR {
            return Err(tsig.error);
        }
        let mac = if self.pending.is_empty() {
            compute(
                &self.key,
                &Digest {
                    prior: &self.prior,
                    message: &msg[..start],
                    arcount_less: 1,
                    tsig: &tsig,
                    timers_only: !self.first_received,
                },
            )
        } else {
            // Unsigned messages go into the digest whole, in order (§5.3.1).
            let mut h = Running::new(&self.key);
            h.update(&(self.prior.len() as u16).to_be_bytes());
            h.update(&self.prior);
            h.update(&self.pending);
            h.update(&tsig.original_id.to_be_bytes());
            h.update(&msg[2..10]);
            let ar = u16::from_be_bytes([msg[10], msg[11]]).wrapping_sub(1);
            h.update(&ar.to_be_bytes());
            h.update(&msg[HEADER_LEN..start]);
            h.update(&tsig.time_signed.to_be_bytes()[2..]);
            h.update(&tsig.fudge.to_be_bytes());
            h.finish()
        };
        if !same(&mac, &tsig.mac) {
            return Err(TsigRcode::BADSIG);
        }
        self.first_received = false;
        self.prior = mac;
        self.pending.clear();
        self.pending_count = 0;
        Ok(true)
    }
}
