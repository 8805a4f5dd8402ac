//! Errors returned when DNS wire data is malformed or cannot be emitted.

use super::rtype::Type;

/// Returned by the wire parsers when a message or record is malformed.
///
/// Every variant describes one spot of the grammar. A server asks
/// [`WireError::reply`] whether the sender deserves an answer (FORMERR) or
/// whether the datagram is too broken to answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer than the 12 bytes of a DNS header: not even an ID to answer to.
    #[error("message shorter than the 12-byte DNS header")]
    ShortHeader,
    /// The message ended in the middle of a field.
    #[error("message ends in the middle of {0}")]
    Truncated(Field),
    /// A label is longer than 63 bytes (RFC 1035 §2.3.4).
    #[error("label longer than 63 bytes")]
    LabelTooLong,
    /// A name is longer than 255 bytes in wire form (RFC 1035 §2.3.4).
    #[error("name longer than 255 bytes")]
    NameTooLong,
    /// A compression pointer points at or after itself; only backward pointers are accepted.
    #[error("compression pointer at offset {at} points forward to {to}")]
    ForwardPointer {
        /// Offset of the pointer.
        at: usize,
        /// Offset it points to.
        to: usize,
    },
    /// A label starts with the reserved bit patterns 0b01 or 0b10 (extended label types).
    #[error("unsupported label type {0:#04x}")]
    BadLabelType(u8),
    /// The RDLENGTH of a record does not match what its type's fields use.
    #[error("rdata of {rtype} has {len} bytes, which does not match its fields")]
    RdataLength {
        /// Type of the record.
        rtype: Type,
        /// The RDLENGTH announced.
        len: u16,
    },
    /// A field inside rdata holds a value its type forbids.
    #[error("invalid {0} in rdata")]
    BadRdata(Field),
    /// More than one OPT pseudo-record (RFC 6891 §6.1.1).
    #[error("more than one OPT record")]
    MultipleOpt,
    /// An OPT record outside the additional section or with an owner other than the root.
    #[error("OPT record outside the additional section or not owned by the root")]
    MisplacedOpt,
    /// Bytes follow the last record announced by the header.
    #[error("{0} bytes after the last record")]
    TrailingBytes(usize),
    /// A TSIG record that is not the last record of the additional section (RFC 8945 §5.1).
    #[error("TSIG record not last in the additional section")]
    MisplacedTsig,
}

/// The grammar spot a [`WireError`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// A domain name.
    Name,
    /// A question entry.
    Question,
    /// The fixed part of a resource record.
    Record,
    /// Record data.
    Rdata,
    /// A character-string.
    CharacterString,
    /// An EDNS option.
    EdnsOption,
    /// A type bitmap (NSEC).
    TypeBitmap,
    /// An SVCB parameter.
    SvcParam,
    /// A CAA tag.
    CaaTag,
    /// A LOC version or precision field.
    Loc,
}

impl core::fmt::Display for Field {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Field::Name => "a domain name",
            Field::Question => "a question",
            Field::Record => "a resource record",
            Field::Rdata => "record data",
            Field::CharacterString => "a character-string",
            Field::EdnsOption => "an EDNS option",
            Field::TypeBitmap => "a type bitmap",
            Field::SvcParam => "an SVCB parameter",
            Field::CaaTag => "a CAA tag",
            Field::Loc => "a LOC field",
        })
    }
}

/// What a server should do with a query that failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Drop the datagram silently: there is no header to answer to.
    Drop,
    /// Answer with RCODE FORMERR, echoing the ID and opcode.
    FormErr,
}

impl WireError {
    /// Whether a server can answer a query that produced this error.
    pub fn reply(&self) -> Reply {
        match self {
            WireError::ShortHeader => Reply::Drop,
            _ => Reply::FormErr,
        }
    }
}

impl<'a> nom::error::ParseError<&'a [u8]> for WireError {
    fn from_error_kind(_input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        WireError::Truncated(Field::Rdata)
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// Returned by the emitters when a message cannot be represented on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// A section holds more than 65535 records.
    #[error("more than 65535 records in one section")]
    TooManyRecords,
    /// A record's data is longer than 65535 bytes.
    #[error("record data longer than 65535 bytes")]
    RdataTooLong,
    /// A character-string is longer than 255 bytes.
    #[error("character-string longer than 255 bytes")]
    StringTooLong,
}
