//! NSEC3 and NSEC3PARAM: hashed denial of existence (RFC 5155).

use core::fmt;

use data_encoding::BASE32HEX_NOPAD;
use nom::IResult;
use nom::number::complete::{be_u8, be_u16};

use super::cert::hex_or_dash;
use super::dnssec::TypeBitmap;
use crate::wire::error::WireError;
use crate::wire::writer::Writer;

/// The data of an NSEC3 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3 {
    /// The hash algorithm (1: SHA-1).
    pub hash_algorithm: u8,
    /// Flags (1: opt-out).
    pub flags: u8,
    /// Additional hash iterations.
    pub iterations: u16,
    /// The salt (0 to 255 bytes).
    pub salt: Vec<u8>,
    /// The hash of the next owner name in hash order (1 to 255 bytes).
    pub next_hashed: Vec<u8>,
    /// The types present at the original owner name.
    pub types: TypeBitmap,
}

fn counted(input: &[u8]) -> IResult<&[u8], Vec<u8>, WireError> {
    let (input, len) = be_u8(input)?;
    let (input, b) = nom::bytes::complete::take(len)(input)?;
    Ok((input, b.to_vec()))
}

fn emit_counted(w: &mut Writer<'_>, b: &[u8]) {
    w.u8(b.len() as u8);
    w.bytes(b);
}

impl Nsec3 {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Nsec3, WireError> {
        let (input, hash_algorithm) = be_u8(input)?;
        let (input, flags) = be_u8(input)?;
        let (input, iterations) = be_u16(input)?;
        let (input, salt) = counted(input)?;
        let (input, next_hashed) = counted(input)?;
        if next_hashed.is_empty() {
            return Err(nom::Err::Failure(WireError::BadRdata(
                crate::wire::Field::Rdata,
            )));
        }
        let (input, types) = TypeBitmap::parse(input)?;
        Ok((
            input,
            Nsec3 {
                hash_algorithm,
                flags,
                iterations,
                salt,
                next_hashed,
                types,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u8(self.hash_algorithm);
        w.u8(self.flags);
        w.u16(self.iterations);
        emit_counted(w, &self.salt);
        emit_counted(w, &self.next_hashed);
        self.types.emit(w);
    }
}

impl fmt::Display for Nsec3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.hash_algorithm,
            self.flags,
            self.iterations,
            hex_or_dash(&self.salt),
            BASE32HEX_NOPAD.encode(&self.next_hashed)
        )?;
        if !self.types.types().is_empty() {
            write!(f, " {}", self.types)?;
        }
        Ok(())
    }
}

/// The data of an NSEC3PARAM record: how the zone's NSEC3 chain is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3Param {
    /// The hash algorithm (1: SHA-1).
    pub hash_algorithm: u8,
    /// Flags (zero in NSEC3PARAM).
    pub flags: u8,
    /// Additional hash iterations.
    pub iterations: u16,
    /// The salt.
    pub salt: Vec<u8>,
}

impl Nsec3Param {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Nsec3Param, WireError> {
        let (input, hash_algorithm) = be_u8(input)?;
        let (input, flags) = be_u8(input)?;
        let (input, iterations) = be_u16(input)?;
        let (input, salt) = counted(input)?;
        Ok((
            input,
            Nsec3Param {
                hash_algorithm,
                flags,
                iterations,
                salt,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u8(self.hash_algorithm);
        w.u8(self.flags);
        w.u16(self.iterations);
        emit_counted(w, &self.salt);
    }
}

impl fmt::Display for Nsec3Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.hash_algorithm,
            self.flags,
            self.iterations,
            hex_or_dash(&self.salt)
        )
    }
}
