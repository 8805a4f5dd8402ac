//! Errors from reading master files and from checking a zone's contents.

use crate::wire::{EmitError, Name, NameError, Type, WireError};

/// Returned by the master-file parser: where (file and line) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct ZoneError {
    /// The file being read (the name given to the parser or to `$INCLUDE`).
    pub file: String,
    /// The 1-based line where the entry starts.
    pub line: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong in a master file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A quoted string runs to the end of the line.
    #[error("unterminated quoted string")]
    UnterminatedString,
    /// A `)` without `(`, or the file ends inside parentheses.
    #[error("unbalanced parentheses")]
    UnbalancedParens,
    /// A token did not have the expected form.
    #[error("expected {expected}, found {found:?}")]
    Expected {
        /// What the grammar wanted here.
        expected: &'static str,
        /// The token found (empty at the end of the entry).
        found: String,
    },
    /// A domain name is malformed.
    #[error("bad domain name {found:?}: {error}")]
    BadName {
        /// The token.
        found: String,
        /// Why.
        error: NameError,
    },
    /// A `$` directive this parser does not know.
    #[error("unknown directive {0:?}")]
    UnknownDirective(String),
    /// A type mnemonic this parser does not know.
    #[error("unknown record type {0:?}")]
    UnknownType(String),
    /// A known type without a presentation form here; write it as `\# len hex` (RFC 3597).
    #[error("type {0} has no presentation form here; use the generic \\# form")]
    NoPresentationForm(Type),
    /// The first record has no owner.
    #[error("no owner name and no previous record to inherit it from")]
    MissingOwner,
    /// A record has no TTL, and there is neither `$TTL` nor a previous TTL.
    #[error("no TTL, no $TTL and no previous record to inherit it from")]
    MissingTtl,
    /// A class other than IN.
    #[error("class {0} is not served; only IN is")]
    UnsupportedClass(crate::wire::Class),
    /// Tokens remain after the record data.
    #[error("unexpected {0:?} after the record data")]
    TrailingData(String),
    /// A character-string is longer than 255 bytes.
    #[error("character-string longer than 255 bytes")]
    StringTooLong,
    /// `\#` data whose length differs from the length given.
    #[error("generic rdata announces {declared} bytes but has {actual}")]
    GenericLength {
        /// Length announced.
        declared: usize,
        /// Length of the hex data.
        actual: usize,
    },
    /// `\#` data that is not valid for its (known) type.
    #[error("generic rdata is not valid: {0}")]
    BadGenericRdata(WireError),
    /// Record data that cannot be put on the wire.
    #[error("record data cannot be encoded: {0}")]
    Unencodable(EmitError),
    /// An SVCB parameter key given twice.
    #[error("SVCB parameter {0:?} given twice")]
    DuplicateSvcParam(String),
    /// `$INCLUDE` nested too deeply (probably a loop).
    #[error("$INCLUDE nested more than {0} deep")]
    IncludeDepth(usize),
    /// The file named by `$INCLUDE` could not be read.
    #[error("cannot include {file:?}: {reason}")]
    Include {
        /// The file named.
        file: String,
        /// Why it could not be read.
        reason: IncludeError,
    },
}

/// Why an `$INCLUDE`d file could not be read; returned by include resolvers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncludeError {
    /// The parser was given no way to read other files.
    #[error("includes are not allowed here")]
    NotAllowed,
    /// The file does not exist.
    #[error("no such file")]
    NotFound,
    /// The file name is not a valid key in the store.
    #[error("not a valid file name")]
    BadName,
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// The file is not yet loaded (used by the asynchronous loader).
    #[error("not loaded yet")]
    Pending,
}

/// Returned when a zone's records break the rules of a zone (RFC 1034 §4.2,
/// RFC 2181 §10.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The zone has no SOA record at its apex.
    #[error("zone {0} has no SOA record at its apex")]
    NoSoa(Name),
    /// More than one SOA record.
    #[error("zone {0} has more than one SOA record")]
    MultipleSoa(Name),
    /// An SOA record below the apex.
    #[error("SOA record at {0}, which is not the zone apex")]
    SoaNotAtApex(Name),
    /// No NS records at the apex.
    #[error("zone {0} has no NS records at its apex")]
    NoApexNs(Name),
    /// A CNAME beside other data, or two CNAMEs at one name.
    #[error("CNAME at {0} is not alone (RFC 2181 §10.1)")]
    CnameAndOtherData(Name),
    /// Two DNAMEs at one name.
    #[error("more than one DNAME at {0}")]
    MultipleDname(Name),
    /// A record whose owner is not inside the zone.
    #[error("record {0} is outside zone {1}")]
    OutOfZone(Name, Name),
    /// A record in another class.
    #[error("record {0} is not in class IN")]
    WrongClass(Name),
    /// A meta type such as OPT or ANY given as data.
    #[error("record {0} has meta type {1}")]
    MetaType(Name, Type),
}
