//! Character classes and small nom helpers shared by the head and body parsers.

use nom::Parser;
use nom::bytes::streaming::{take_while, take_while1};

use super::Status;
use crate::error::Error;

/// `tchar` of RFC 9110 §5.6.2: the bytes of a token.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    ) || b.is_ascii_alphanumeric()
}

/// Optional whitespace: SP and HTAB.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A byte allowed inside a field value: HTAB, SP, VCHAR, obs-text.
pub(crate) fn is_field_byte(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// The result of one grammar step: the rest of the input and the value,
/// or `None` when the input ended first.
pub(crate) type Step<'a, T> = Result<Option<(&'a [u8], T)>, Error>;

/// Maps a streaming nom result: `Incomplete` becomes `None` (need more),
/// a parse error becomes `err`.
pub(crate) fn step<'a, O>(r: nom::IResult<&'a [u8], O>, err: Error) -> Step<'a, O> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(nom::Err::Incomplete(_)) => Ok(None),
        Err(_) => Err(err),
    }
}

/// One or more token bytes (streaming: all-token input is incomplete).
pub(crate) fn token(i: &[u8], err: Error) -> Step<'_, &[u8]> {
    step(take_while1(is_tchar).parse(i), err)
}

/// Zero or more SP/HTAB.
pub(crate) fn ows(i: &[u8]) -> Step<'_, &[u8]> {
    step(take_while(is_ows).parse(i), Error::NewLine)
}

/// The line end CRLF. A CR followed by anything else is [`Error::BareCr`];
/// any other byte is `other`.
pub(crate) fn crlf(i: &[u8], other: Error) -> Step<'_, ()> {
    match i {
        [] | [b'\r'] => Ok(None),
        [b'\r', b'\n', rest @ ..] => Ok(Some((rest, ()))),
        [b'\r', ..] => Err(Error::BareCr),
        [b'\n', ..] => Err(Error::NewLine),
        _ => Err(other),
    }
}

/// Unwraps a step inside a function returning `Result<Status<_>, Error>`.
macro_rules! need {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok($crate::parse::Status::Partial),
        }
    };
}
pub(crate) use need;

impl<T> Status<T> {
    /// The complete value, if any.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(v) => Some(v),
            Status::Partial => None,
        }
    }
}
