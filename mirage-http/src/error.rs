//! The one error enum of the request parser, and the status each maps to.

/// Why a request was refused. Flat and `Copy`, one variant per grammar spot
/// (in the spirit of `httparse::Error`), so the server can choose the status
/// code without guessing: see [`Error::status`].
///
/// Returned by [`crate::parse::parse_head`], [`crate::parse::framing()`] and
/// [`crate::parse::BodyDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The method is not a token (RFC 9110 §9.1).
    #[error("invalid method token")]
    Method,
    /// The request-target is empty or holds a control or non-ASCII byte.
    #[error("invalid request-target")]
    Target,
    /// The request-target is longer than [`crate::parse::Limits::max_uri`].
    #[error("request-target too long")]
    UriTooLong,
    /// The HTTP-version is not `HTTP/DIGIT.DIGIT`.
    #[error("malformed HTTP-version")]
    Version,
    /// A well-formed version whose major number is not 1 (e.g. `HTTP/2.0`).
    #[error("HTTP version not supported")]
    VersionNotSupported,
    /// A line did not end in CRLF (bare LF, or a stray byte before the end).
    #[error("line not terminated by CRLF")]
    NewLine,
    /// A CR not followed by LF (RFC 9112 §2.2).
    #[error("bare CR in message")]
    BareCr,
    /// A field name is not a token.
    #[error("invalid header field name")]
    HeaderName,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    #[error("whitespace before colon in header field")]
    WhitespaceBeforeColon,
    /// A field value holds a control byte (NUL and friends).
    #[error("invalid header field value")]
    HeaderValue,
    /// A field line starting with whitespace: obsolete line folding (RFC 9112 §5.2).
    #[error("obsolete line folding")]
    ObsFold,
    /// The header section is larger than [`crate::parse::Limits::max_head`].
    #[error("request header section too large")]
    HeadersTooLarge,
    /// More field lines than [`crate::parse::Limits::max_headers`].
    #[error("too many header fields")]
    TooManyHeaders,
    /// An HTTP/1.1 request without `Host`, or with more than one (RFC 9112 §3.2).
    #[error("missing or duplicate Host header")]
    Host,
    /// `Content-Length` is not a non-negative decimal number.
    #[error("invalid Content-Length")]
    ContentLength,
    /// Several `Content-Length` values that differ (RFC 9112 §6.3).
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (a smuggling vector).
    #[error("both Content-Length and Transfer-Encoding present")]
    LengthAndTransferEncoding,
    /// `Transfer-Encoding` whose final coding is not `chunked`, or an
    /// HTTP/1.0 request carrying `Transfer-Encoding` (RFC 9112 §6.1, §6.3).
    #[error("invalid Transfer-Encoding")]
    TransferEncoding,
    /// A transfer coding other than `chunked` (we decode none of them).
    #[error("transfer coding not implemented")]
    UnsupportedTransferEncoding,
    /// A chunk-size that is not hex, or too large to represent.
    #[error("invalid chunk size")]
    ChunkSize,
    /// A chunk extension that is malformed or too long.
    #[error("invalid chunk extension")]
    ChunkExtension,
    /// Chunk data not followed by CRLF.
    #[error("chunk data not terminated by CRLF")]
    ChunkTerminator,
    /// The body is larger than [`crate::parse::Limits::max_body`].
    #[error("request body too large")]
    BodyTooLarge,
}

impl Error {
    /// The response status this error calls for: 400, 413, 414, 431, 501 or 505.
    pub fn status(self) -> u16 {
        match self {
            Error::UriTooLong => 414,
            Error::HeadersTooLarge | Error::TooManyHeaders => 431,
            Error::BodyTooLarge => 413,
            Error::UnsupportedTransferEncoding => 501,
            Error::VersionNotSupported => 505,
            _ => 400,
        }
    }
}
