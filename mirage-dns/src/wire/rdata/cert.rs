//! Records that pin keys and certificates: CAA (RFC 8659), SSHFP (RFC 4255)
//! and TLSA (RFC 6698).

use core::fmt;

use data_encoding::HEXUPPER;
use nom::IResult;
use nom::number::complete::be_u8;

use super::fmt_character_string;
use crate::wire::error::{EmitError, Field, WireError};
use crate::wire::writer::Writer;

/// The data of a CAA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caa {
    /// Flags; bit 128 is "issuer critical".
    pub flags: u8,
    /// The property tag, e.g. `issue` (1 to 255 ASCII letters and digits).
    pub tag: Vec<u8>,
    /// The property value.
    pub value: Vec<u8>,
}

impl Caa {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Caa, WireError> {
        let (input, flags) = be_u8(input)?;
        let (input, len) = be_u8(input)?;
        let (input, tag) = nom::bytes::complete::take(len)(input)?;
        if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
            return Err(nom::Err::Failure(WireError::BadRdata(Field::CaaTag)));
        }
        Ok((
            &input[input.len()..],
            Caa {
                flags,
                tag: tag.to_vec(),
                value: input.to_vec(),
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        w.u8(self.flags);
        w.character_string(&self.tag)?;
        w.bytes(&self.value);
        Ok(())
    }
}

impl fmt::Display for Caa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.flags, String::from_utf8_lossy(&self.tag))?;
        fmt_character_string(&self.value, f)
    }
}

/// The data of an SSHFP record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sshfp {
    /// Key algorithm (1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519, …).
    pub algorithm: u8,
    /// Fingerprint type (1 SHA-1, 2 SHA-256).
    pub fp_type: u8,
    /// The fingerprint.
    pub fingerprint: Vec<u8>,
}

impl Sshfp {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Sshfp, WireError> {
        let (input, algorithm) = be_u8(input)?;
        let (input, fp_type) = be_u8(input)?;
        Ok((
            &input[input.len()..],
            Sshfp {
                algorithm,
                fp_type,
                fingerprint: input.to_vec(),
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u8(self.algorithm);
        w.u8(self.fp_type);
        w.bytes(&self.fingerprint);
    }
}

impl fmt::Display for Sshfp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.algorithm,
            self.fp_type,
            hex_or_dash(&self.fingerprint)
        )
    }
}

/// The data of a TLSA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    /// Certificate usage.
    pub usage: u8,
    /// Which part of the certificate is matched.
    pub selector: u8,
    /// How it is matched (0 exact, 1 SHA-256, 2 SHA-512).
    pub matching: u8,
    /// The certificate association data.
    pub data: Vec<u8>,
}

impl Tlsa {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Tlsa, WireError> {
        let (input, usage) = be_u8(input)?;
        let (input, selector) = be_u8(input)?;
        let (input, matching) = be_u8(input)?;
        Ok((
            &input[input.len()..],
            Tlsa {
                usage,
                selector,
                matching,
                data: input.to_vec(),
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u8(self.usage);
        w.u8(self.selector);
        w.u8(self.matching);
        w.bytes(&self.data);
    }
}

impl fmt::Display for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.usage,
            self.selector,
            self.matching,
            hex_or_dash(&self.data)
        )
    }
}

/// Hex for a binary field, `-` when empty so the field still has a token.
pub(crate) fn hex_or_dash(b: &[u8]) -> String {
    if b.is_empty() {
        "-".into()
    } else {
        HEXUPPER.encode(b)
    }
}
