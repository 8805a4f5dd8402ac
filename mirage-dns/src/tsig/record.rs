//! The TSIG pseudo-record (RFC 8945 §4.2) and finding it at the end of a message.

use crate::wire::name::read_name;
use crate::wire::{Field, HEADER_LEN, Name, WireError};

/// The TSIG record type code.
pub const TSIG_TYPE: u16 = 250;

/// The TSIG error field (RFC 8945 §4.3, extended RCODEs 16–22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TsigRcode(pub u16);

impl TsigRcode {
    /// No error.
    pub const NOERROR: TsigRcode = TsigRcode(0);
    /// The MAC does not verify.
    pub const BADSIG: TsigRcode = TsigRcode(16);
    /// The key is not known, or not for this algorithm.
    pub const BADKEY: TsigRcode = TsigRcode(17);
    /// The signature is outside the time window.
    pub const BADTIME: TsigRcode = TsigRcode(18);
    /// The MAC is truncated below what we accept.
    pub const BADTRUNC: TsigRcode = TsigRcode(22);
}

/// The fields of a TSIG record other than its owner (the key name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tsig {
    /// The algorithm's name.
    pub algorithm: Name,
    /// Seconds since the epoch when signed (48 bits).
    pub time_signed: u64,
    /// Seconds of clock difference allowed.
    pub fudge: u16,
    /// The MAC.
    pub mac: Vec<u8>,
    /// The message ID when first signed.
    pub original_id: u16,
    /// The TSIG error.
    pub error: TsigRcode,
    /// Extra data (the server's time in a BADTIME answer).
    pub other: Vec<u8>,
}

impl Tsig {
    /// Reads the rdata of a TSIG record.
    pub fn parse(rdata: &[u8]) -> Result<Tsig, WireError> {
        let bad = WireError::Truncated(Field::Rdata);
        let (algorithm, mut p) = Name::parse(rdata, 0)?;
        let mut take = |n: usize| -> Result<&[u8], WireError> {
            let s = rdata.get(p..p + n).ok_or(bad)?;
            p += n;
            Ok(s)
        };
        let t = take(6)?;
        let time_signed = t.iter().fold(0u64, |a, &b| a << 8 | b as u64);
        let u16_of = |s: &[u8]| u16::from_be_bytes([s[0], s[1]]);
        let fudge = u16_of(take(2)?);
        let mac_len = u16_of(take(2)?) as usize;
        let mac = take(mac_len)?.to_vec();
        let original_id = u16_of(take(2)?);
        let error = TsigRcode(u16_of(take(2)?));
        let other_len = u16_of(take(2)?) as usize;
        let other = take(other_len)?.to_vec();
        if p != rdata.len() {
            return Err(WireError::TrailingBytes(rdata.len() - p));
        }
        Ok(Tsig {
            algorithm,
            time_signed,
            fudge,
            mac,
            original_id,
            error,
            other,
        })
    }

    /// Appends the whole record (owner `key`, class ANY, TTL 0), names uncompressed.
    pub fn emit_record(&self, key: &Name, out: &mut Vec<u8>) {
        out.extend_from_slice(key.as_wire());
        out.extend_from_slice(&TSIG_TYPE.to_be_bytes());
        out.extend_from_slice(&255u16.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(self.algorithm.as_wire());
        out.extend_from_slice(&self.time_signed.to_be_bytes()[2..]);
        out.extend_from_slice(&self.fudge.to_be_bytes());
        out.extend_from_slice(&(self.mac.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.mac);
        out.extend_from_slice(&self.original_id.to_be_bytes());
        out.extend_from_slice(&self.error.0.to_be_bytes());
        out.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.other);
        let len = (out.len() - at - 2) as u16;
        out[at..at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

/// Finds the TSIG record of a message: it must be the last record of the
/// additional section (RFC 8945 §5.1). Returns the offset where it starts,
/// the key name and its fields, or `None` for an unsigned message. A TSIG
/// record anywhere else, or malformed, is an error (FORMERR).
pub fn find_tsig(msg: &[u8]) -> Result<Option<(usize, Name, Tsig)>, WireError> {
    if msg.len() < HEADER_LEN {
        return Err(WireError::ShortHeader);
    }
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    let mut pos = HEADER_LEN;
    let mut buf = [0u8; 255];
    for _ in 0..count(4) {
        pos = read_name(msg, pos, &mut buf)?.1 + 4;
    }
    let records = count(6) + count(8) + count(10);
    for i in 0..records {
        let start = pos;
        pos = read_name(msg, pos, &mut buf)?.1;
        let fixed = msg
            .get(pos..pos + 10)
            .ok_or(WireError::Truncated(Field::Record))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let rdata = msg
            .get(pos + 10..pos + 10 + rdlen)
            .ok_or(WireError::Truncated(Field::Rdata))?;
        pos += 10 + rdlen;
        if rtype == TSIG_TYPE {
            let class_ttl = &fixed[2..8];
            if i + 1 != records
                || class_ttl != [0, 255, 0, 0, 0, 0]
                || count(10) == 0
                || pos != msg.len()
            {
                return Err(WireError::MisplacedTsig);
            }
            let (key, _) = Name::parse(msg, start)?;
            return Ok(Some((start, key, Tsig::parse(rdata)?)));
        }
    }
    Ok(None)
}
