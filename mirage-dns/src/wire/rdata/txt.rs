//! TXT and SPF: one or more character-strings (RFC 1035 §3.3.14).

use core::fmt;

use nom::IResult;

use super::character_string;
use crate::wire::error::{EmitError, Field, WireError};
use crate::wire::writer::Writer;

/// The data of a TXT (or SPF) record: at least one character-string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txt(pub Vec<Vec<u8>>);

impl Txt {
    pub(crate) fn parse(mut input: &[u8]) -> IResult<&[u8], Txt, WireError> {
        if input.is_empty() {
            return Err(nom::Err::Failure(WireError::BadRdata(
                Field::CharacterString,
            )));
        }
        let mut strings = Vec::new();
        while !input.is_empty() {
            let (rest, s) = character_string(input)
                .map_err(|_| nom::Err::Failure(WireError::Truncated(Field::CharacterString)))?;
            strings.push(s);
            input = rest;
        }
        Ok((input, Txt(strings)))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        self.0.iter().try_for_each(|s| w.character_string(s))
    }
}

/// Writes a character-string in quotes, escaping `"`, `\` and unprintable bytes.
pub fn fmt_character_string(s: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("\"")?;
    for &b in s {
        match b {
            b'"' | b'\\' => write!(f, "\\{}", b as char)?,
            0x20..=0x7E => write!(f, "{}", b as char)?,
            _ => write!(f, "\\{b:03}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for Txt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            fmt_character_string(s, f)?;
        }
        Ok(())
    }
}
