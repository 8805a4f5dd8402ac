//! DNSSEC records (RFC 4034): DS, DNSKEY, RRSIG and NSEC with its type bitmap.
//! This crate serves them as zone data; it does not sign or validate.

use core::fmt;

use data_encoding::BASE64;
use nom::IResult;
use nom::number::complete::{be_u8, be_u16, be_u32};

use super::Ctx;
use super::cert::hex_or_dash;
use crate::wire::error::{Field, WireError};
use crate::wire::name::Name;
use crate::wire::rtype::Type;
use crate::wire::writer::Writer;

/// The data of a DS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ds {
    /// Key tag of the DNSKEY referred to.
    pub key_tag: u16,
    /// Its algorithm.
    pub algorithm: u8,
    /// The digest algorithm.
    pub digest_type: u8,
    /// The digest.
    pub digest: Vec<u8>,
}

impl Ds {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Ds, WireError> {
        let (input, key_tag) = be_u16(input)?;
        let (input, algorithm) = be_u8(input)?;
        let (input, digest_type) = be_u8(input)?;
        Ok((
            &input[input.len()..],
            Ds {
                key_tag,
                algorithm,
                digest_type,
                digest: input.to_vec(),
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.key_tag);
        w.u8(self.algorithm);
        w.u8(self.digest_type);
        w.bytes(&self.digest);
    }
}

impl fmt::Display for Ds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.key_tag,
            self.algorithm,
            self.digest_type,
            hex_or_dash(&self.digest)
        )
    }
}

/// The data of a DNSKEY record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnskey {
    /// Flags (256 zone key, 257 with secure entry point).
    pub flags: u16,
    /// Always 3.
    pub protocol: u8,
    /// The key algorithm.
    pub algorithm: u8,
    /// The public key.
    pub public_key: Vec<u8>,
}

impl Dnskey {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Dnskey, WireError> {
        let (input, flags) = be_u16(input)?;
        let (input, protocol) = be_u8(input)?;
        let (input, algorithm) = be_u8(input)?;
        Ok((
            &input[input.len()..],
            Dnskey {
                flags,
                protocol,
                algorithm,
                public_key: input.to_vec(),
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.flags);
        w.u8(self.protocol);
        w.u8(self.algorithm);
        w.bytes(&self.public_key);
    }
}

/// Base64 for a binary field, `-` when empty.
fn base64_or_dash(b: &[u8]) -> String {
    if b.is_empty() {
        "-".into()
    } else {
        BASE64.encode(b)
    }
}

impl fmt::Display for Dnskey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.flags,
            self.protocol,
            self.algorithm,
            base64_or_dash(&self.public_key)
        )
    }
}

/// The data of an RRSIG record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rrsig {
    /// The type of the RRset signed.
    pub type_covered: Type,
    /// The signing algorithm.
    pub algorithm: u8,
    /// Labels in the original owner name (fewer for a wildcard).
    pub labels: u8,
    /// The TTL of the RRset as signed.
    pub original_ttl: u32,
    /// End of validity, seconds since 1970 modulo 2^32.
    pub expiration: u32,
    /// Start of validity, seconds since 1970 modulo 2^32.
    pub inception: u32,
    /// Key tag of the signing key.
    pub key_tag: u16,
    /// The zone that signed (never compressed).
    pub signer: Name,
    /// The signature.
    pub signature: Vec<u8>,
}

impl Rrsig {
    pub(crate) fn parse<'a>(ctx: Ctx<'a>, input: &'a [u8]) -> IResult<&'a [u8], Rrsig, WireError> {
        let (input, type_covered) = be_u16(input)?;
        let (input, algorithm) = be_u8(input)?;
        let (input, labels) = be_u8(input)?;
        let (input, original_ttl) = be_u32(input)?;
        let (input, expiration) = be_u32(input)?;
        let (input, inception) = be_u32(input)?;
        let (input, key_tag) = be_u16(input)?;
        let (input, signer) = ctx.name(input)?;
        let rrsig = Rrsig {
            type_covered: Type(type_covered),
            algorithm,
            labels,
            original_ttl,
            expiration,
            inception,
            key_tag,
            signer,
            signature: input.to_vec(),
        };
        Ok((&input[input.len()..], rrsig))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.type_covered.0);
        w.u8(self.algorithm);
        w.u8(self.labels);
        w.u32(self.original_ttl);
        w.u32(self.expiration);
        w.u32(self.inception);
        w.u16(self.key_tag);
        w.name(&self.signer, false);
        w.bytes(&self.signature);
    }
}

/// Formats seconds since 1970 as `YYYYMMDDHHmmSS` (RFC 4034 §3.2).
pub fn fmt_timestamp(secs: u32) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Reads `YYYYMMDDHHmmSS` as seconds since 1970 modulo 2^32.
pub fn parse_timestamp(s: &str) -> Option<u32> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: core::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, m, d, hh, mm, ss) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Days-from-civil.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86400 + hh * 3600 + mm * 60 + ss).rem_euclid(1 << 32) as u32)
}

impl fmt::Display for Rrsig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {} {} {}",
            self.type_covered,
            self.algorithm,
            self.labels,
            self.original_ttl,
            fmt_timestamp(self.expiration),
            fmt_timestamp(self.inception),
            self.key_tag,
            self.signer,
            base64_or_dash(&self.signature)
        )
    }
}

/// The set of types present at a name, as carried by NSEC (RFC 4034 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeBitmap(Vec<Type>);

impl TypeBitmap {
    /// A bitmap of the given types (sorted, duplicates removed).
    pub fn new(mut types: Vec<Type>) -> TypeBitmap {
        types.sort();
        types.dedup();
        TypeBitmap(types)
    }

    /// The types, in increasing order.
    pub fn types(&self) -> &[Type] {
        &self.0
    }

    pub(crate) fn parse(mut input: &[u8]) -> IResult<&[u8], TypeBitmap, WireError> {
        let bad = || nom::Err::Failure(WireError::BadRdata(Field::TypeBitmap));
        let mut types = Vec::new();
        let mut last_window = None;
        while !input.is_empty() {
            let (rest, window) = be_u8::<_, WireError>(input).map_err(|_| bad())?;
            let (rest, len) = be_u8::<_, WireError>(rest).map_err(|_| bad())?;
            if len == 0 || len > 32 || last_window.is_some_and(|w| w >= window) {
                return Err(bad());
            }
            let bits = rest.get(..len as usize).ok_or_else(bad)?;
            for (i, &byte) in bits.iter().enumerate() {
                for bit in 0..8 {
                    if byte & (0x80 >> bit) != 0 {
                        types.push(Type((window as u16) << 8 | (i as u16 * 8 + bit)));
                    }
                }
            }
            last_window = Some(window);
            input = &rest[len as usize..];
        }
        Ok((input, TypeBitmap(types)))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        let mut i = 0;
        while i < self.0.len() {
            let window = (self.0[i].0 >> 8) as u8;
            let mut bits = [0u8; 32];
            let mut len = 0;
            while i < self.0.len() && (self.0[i].0 >> 8) as u8 == window {
                let low = (self.0[i].0 & 0xFF) as usize;
                bits[low / 8] |= 0x80 >> (low % 8);
                len = low / 8 + 1;
                i += 1;
            }
            w.u8(window);
            w.u8(len as u8);
            w.bytes(&bits[..len]);
        }
    }
}

impl fmt::Display for TypeBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// The data of an NSEC record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec {
    /// The next owner name in canonical order (never compressed).
    pub next: Name,
    /// The types present at the owner.
    pub types: TypeBitmap,
}

impl Nsec {
    pub(crate) fn parse<'a>(ctx: Ctx<'a>, input: &'a [u8]) -> IResult<&'a [u8], Nsec, WireError> {
        let (input, next) = ctx.name(input)?;
        let (input, types) = TypeBitmap::parse(input)?;
        Ok((input, Nsec { next, types }))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.name(&self.next, false);
        self.types.emit(w);
    }
}

impl fmt::Display for Nsec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.next)?;
        if !self.types.0.is_empty() {
            write!(f, " {}", self.types)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_timestamp() {
        assert_eq!(fmt_timestamp(0), "19700101000000");
        assert_eq!(fmt_timestamp(1_700_000_000), "20231114221320");
        assert_eq!(parse_timestamp("20231114221320"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("20231314221320"), None);
        for t in [0u32, 1, 86399, 951_782_400, u32::MAX] {
            assert_eq!(parse_timestamp(&fmt_timestamp(t)), Some(t));
        }
    }

    #[test]
    fn test_bitmap() {
        // RFC 4034 §4.3 example: A MX RRSIG NSEC TYPE1234.
        let mut wire = b"\x00\x06\x40\x01\x00\x00\x00\x03\x04\x1b".to_vec();
        wire.extend_from_slice(&[0; 26]);
        wire.push(0x20);
        let wire = &wire[..];
        let (_, bm) = TypeBitmap::parse(wire).unwrap();
        assert_eq!(
            bm.types(),
            &[Type::A, Type::MX, Type::RRSIG, Type::NSEC, Type(1234)]
        );
        let mut buf = Vec::new();
        bm.emit(&mut Writer::new(&mut buf));
        assert_eq!(&buf[..], wire);
    }
}
