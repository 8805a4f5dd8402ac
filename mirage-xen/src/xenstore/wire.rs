//! The XenStore wire format (`io/xs_wire.h`): a 16-byte header
//! (`type`, `req_id`, `tx_id`, `len`, little-endian `u32`s) and up to
//! [`XENSTORE_PAYLOAD_MAX`] bytes of payload, usually NUL-terminated strings.
//!
//! [`Decoder`] turns a byte stream (as read from the ring, in any
//! fragments) into [`Message`]s; the `parse_*` functions read reply
//! payloads. Everything here checks what it reads: a bad header, an
//! unterminated string or a non-numeric transaction id is a [`WireError`].

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::abi::xs_wire::{XENSTORE_ABS_PATH_MAX, XENSTORE_PAYLOAD_MAX};

/// Header length.
pub const HEADER_LEN: usize = 16;

/// A message type (`enum xsd_sockmsg_type`, Xen 4.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum MsgType {
    Control = 0,
    Directory = 1,
    Read = 2,
    GetPerms = 3,
    Watch = 4,
    Unwatch = 5,
    TransactionStart = 6,
    TransactionEnd = 7,
    Introduce = 8,
    Release = 9,
    GetDomainPath = 10,
    Write = 11,
    Mkdir = 12,
    Rm = 13,
    SetPerms = 14,
    WatchEvent = 15,
    Error = 16,
    IsDomainIntroduced = 17,
    Resume = 18,
    SetTarget = 19,
    ResetWatches = 21,
    DirectoryPart = 22,
}

impl MsgType {
    /// The type for a wire value, if it is one Xen 4.17 defines.
    pub fn from_u32(v: u32) -> Option<MsgType> {
        use MsgType::*;
        Some(match v {
            0 => Control,
            1 => Directory,
            2 => Read,
            3 => GetPerms,
            4 => Watch,
            5 => Unwatch,
            6 => TransactionStart,
            7 => TransactionEnd,
            8 => Introduce,
            9 => Release,
            10 => GetDomainPath,
            11 => Write,
            12 => Mkdir,
            13 => Rm,
            14 => SetPerms,
            15 => WatchEvent,
            16 => Error,
            17 => IsDomainIntroduced,
            18 => Resume,
            19 => SetTarget,
            21 => ResetWatches,
            22 => DirectoryPart,
            _ => return None,
        })
    }
}

/// The error names xenstored sends in `XS_ERROR` replies (`xsd_errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Errno {
    EINVAL,
    EACCES,
    EEXIST,
    EISDIR,
    ENOENT,
    ENOMEM,
    ENOSPC,
    EIO,
    ENOTEMPTY,
    ENOSYS,
    EROFS,
    EBUSY,
    EAGAIN,
    EISCONN,
    E2BIG,
    EPERM,
}

const ERRNOS: [(Errno, &str); 16] = [
    (Errno::EINVAL, "EINVAL"),
    (Errno::EACCES, "EACCES"),
    (Errno::EEXIST, "EEXIST"),
    (Errno::EISDIR, "EISDIR"),
    (Errno::ENOENT, "ENOENT"),
    (Errno::ENOMEM, "ENOMEM"),
    (Errno::ENOSPC, "ENOSPC"),
    (Errno::EIO, "EIO"),
    (Errno::ENOTEMPTY, "ENOTEMPTY"),
    (Errno::ENOSYS, "ENOSYS"),
    (Errno::EROFS, "EROFS"),
    (Errno::EBUSY, "EBUSY"),
    (Errno::EAGAIN, "EAGAIN"),
    (Errno::EISCONN, "EISCONN"),
    (Errno::E2BIG, "E2BIG"),
    (Errno::EPERM, "EPERM"),
];

impl Errno {
    /// The name as sent on the wire.
    pub fn name(self) -> &'static str {
        ERRNOS
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, n)| *n)
            .unwrap_or("EINVAL")
    }

    /// The errno for a wire name.
    pub fn from_name(name: &[u8]) -> Option<Errno> {
        ERRNOS
            .iter()
            .find(|(_, n)| n.as_bytes() == name)
            .map(|(e, _)| *e)
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A malformed XenStore message or payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The header's type is not a Xen 4.17 message type.
    #[error("unknown XenStore message type {0}")]
    UnknownType(u32),
    /// The header announces more than `XENSTORE_PAYLOAD_MAX` bytes.
    #[error("XenStore payload of {0} bytes exceeds the 4096-byte maximum")]
    TooLong(u32),
    /// A string in the payload lacks its NUL terminator.
    #[error("a XenStore string is missing its NUL terminator")]
    MissingNul,
    /// A string in the payload is not UTF-8.
    #[error("a XenStore string is not valid UTF-8")]
    NotUtf8,
    /// A reply that should be `OK` is something else.
    #[error("expected an OK reply")]
    NotOk,
    /// A reply of the wrong type for the request.
    #[error("expected a {expected:?} reply, got {got:?}")]
    UnexpectedType {
        /// The request's type.
        expected: MsgType,
        /// The reply's type.
        got: MsgType,
    },
    /// A number (transaction id, domain id) does not parse.
    #[error("a XenStore number field does not parse")]
    BadNumber,
    /// A permission entry is not `[nrwb]<domid>`.
    #[error("a XenStore permission entry is malformed")]
    BadPermission,
    /// An `XS_ERROR` reply names no known error.
    #[error("xenstored sent an unknown error name")]
    UnknownErrno,
    /// A path is empty, too long, or has characters XenStore rejects.
    #[error("invalid XenStore path")]
    InvalidPath,
    /// A watch token or value contains a NUL or is too long.
    #[error("invalid XenStore token or value")]
    InvalidArgument,
}

/// A message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The type.
    pub ty: MsgType,
    /// Request id.
    pub req_id: u32,
    /// Transaction id.
    pub tx_id: u32,
    /// Payload length (at most [`XENSTORE_PAYLOAD_MAX`]).
    pub len: u32,
}

impl Header {
    /// Parses and checks a header.
    pub fn parse(b: &[u8; HEADER_LEN]) -> Result<Header, WireError> {
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let ty = MsgType::from_u32(word(0)).ok_or(WireError::UnknownType(word(0)))?;
        let len = word(12);
        if len > XENSTORE_PAYLOAD_MAX {
            return Err(WireError::TooLong(len));
        }
        Ok(Header {
            ty,
            req_id: word(4),
            tx_id: word(8),
            len,
        })
    }

    /// The 16 wire bytes.
    pub fn emit(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&(self.ty as u32).to_le_bytes());
        b[4..8].copy_from_slice(&self.req_id.to_le_bytes());
        b[8..12].copy_from_slice(&self.tx_id.to_le_bytes());
        b[12..16].copy_from_slice(&self.len.to_le_bytes());
        b
    }
}

/// A whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The type.
    pub ty: MsgType,
    /// Request id.
    pub req_id: u32,
    /// Transaction id.
    pub tx_id: u32,
    /// Payload (at most [`XENSTORE_PAYLOAD_MAX`] bytes).
    pub payload: Vec<u8>,
}

impl Message {
    /// A message, if the payload fits.
    pub fn new(
        ty: MsgType,
        req_id: u32,
        tx_id: u32,
        payload: Vec<u8>,
    ) -> Result<Message, WireError> {
        if payload.len() > XENSTORE_PAYLOAD_MAX as usize {
            return Err(WireError::TooLong(payload.len() as u32));
        }
        Ok(Message {
            ty,
            req_id,
            tx_id,
            payload,
        })
    }

    /// Header and payload as wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let h = Header {
            ty: self.ty,
            req_id: self.req_id,
            tx_id: self.tx_id,
            len: self.payload.len() as u32,
        };
        let mut v = Vec::with_capacity(HEADER_LEN + self.payload.len());
        v.extend_from_slice(&h.emit());
        v.extend_from_slice(&self.payload);
        v
    }

    /// If this is an `XS_ERROR` reply, its errno.
    pub fn error(&self) -> Option<Result<Errno, WireError>> {
        (self.ty == MsgType::Error).then(|| {
            let name = self
                .payload
                .strip_suffix(b"\0")
                .ok_or(WireError::MissingNul)?;
            Errno::from_name(name).ok_or(WireError::UnknownErrno)
        })
    }
}

/// Reassembles messages from a byte stream.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: VecDeque<u8>,
    header: Option<Header>,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Appends bytes read from the ring.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes.iter().copied());
    }

    /// Bytes held and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or
    /// an error if the stream is corrupt (after which the stream cannot be
    /// trusted: the caller drops the connection).
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        if self.header.is_none() {
            if self.buf.len() < HEADER_LEN {
                return Ok(None);
            }
            let mut h = [0u8; HEADER_LEN];
            for (d, s) in h.iter_mut().zip(self.buf.drain(..HEADER_LEN)) {
                *d = s;
            }
            self.header = Some(Header::parse(&h)?);
        }
        let Some(h) = self.header else {
            return Ok(None);
        };
        if self.buf.len() < h.len as usize {
            return Ok(None);
        }
        self.header = None;
        let payload: Vec<u8> = self.buf.drain(..h.len as usize).collect();
        Ok(Some(Message {
            ty: h.ty,
            req_id: h.req_id,
            tx_id: h.tx_id,
            payload,
        }))
    }
}

/// Checks a path: 1 to `XENSTORE_ABS_PATH_MAX` bytes of `[A-Za-z0-9-/_@]`,
/// no empty components, `@` only at the start (special watch paths).
pub fn check_path(path: &str) -> Result<(), WireError> {
    let b = path.as_bytes();
    if b.is_empty() || b.len() > XENSTORE_ABS_PATH_MAX {
        return Err(WireError::InvalidPath);
    }
    let ok_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'_' | b'@');
    if !b.iter().all(|&c| ok_char(c)) || b[1..].contains(&b'@') {
        return Err(WireError::InvalidPath);
    }
    if path != "/" && (path.ends_with('/') || path.contains("//")) {
        return Err(WireError::InvalidPath);
    }
    Ok(())
}

/// Payload of one or more NUL-terminated strings.
pub fn strings_payload(parts: &[&str]) -> Result<Vec<u8>, WireError> {
    let mut v = Vec::new();
    for p in parts {
        if p.as_bytes().contains(&0) {
            return Err(WireError::InvalidArgument);
        }
        v.extend_from_slice(p.as_bytes());
        v.push(0);
    }
    if v.len() > XENSTORE_PAYLOAD_MAX as usize {
        return Err(WireError::TooLong(v.len() as u32));
    }
    Ok(v)
}

/// Payload of `XS_WRITE`: the path, NUL, then the value's bytes (no NUL).
pub fn write_payload(path: &str, value: &[u8]) -> Result<Vec<u8>, WireError> {
    check_path(path)?;
    let mut v = strings_payload(&[path])?;
    v.extend_from_slice(value);
    if v.len() > XENSTORE_PAYLOAD_MAX as usize {
        return Err(WireError::TooLong(v.len() as u32));
    }
    Ok(v)
}

/// Parses a payload of NUL-terminated UTF-8 strings (`XS_DIRECTORY`,
/// `XS_GET_PERMS`, `XS_WATCH_EVENT`). An empty payload is no strings.
pub fn parse_strings(payload: &[u8]) -> Result<Vec<String>, WireError> {
    if payload.is_empty() {
        return Ok(Vec::new());
    }
    let body = payload.strip_suffix(b"\0").ok_or(WireError::MissingNul)?;
    body.split(|&c| c == 0)
        .map(|s| {
            core::str::from_utf8(s)
                .map(String::from)
                .map_err(|_| WireError::NotUtf8)
        })
        .collect()
}

/// Checks an `OK` reply.
pub fn parse_ok(payload: &[u8]) -> Result<(), WireError> {
    if payload == b"OK\0" {
        Ok(())
    } else {
        Err(WireError::NotOk)
    }
}

/// Parses the transaction id in an `XS_TRANSACTION_START` reply.
pub fn parse_tx_id(payload: &[u8]) -> Result<u32, WireError> {
    let s = payload.strip_suffix(b"\0").ok_or(WireError::MissingNul)?;
    let s = core::str::from_utf8(s).map_err(|_| WireError::NotUtf8)?;
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(WireError::BadNumber);
    }
    s.parse().map_err(|_| WireError::BadNumber)
}

/// A watch firing: the path that changed and the watch's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// The changed path (relative if the watch was).
    pub path: String,
    /// The token given to `XS_WATCH`.
    pub token: String,
}

/// Parses an `XS_WATCH_EVENT` payload (`path\0token\0`, extra fields ignored).
pub fn parse_watch_event(payload: &[u8]) -> Result<WatchEvent, WireError> {
    let mut v = parse_strings(payload)?.into_iter();
    match (v.next(), v.next()) {
        (Some(path), Some(token)) => Ok(WatchEvent { path, token }),
        _ => Err(WireError::MissingNul),
    }
}

/// Access in a permission entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `n`: none.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: both.
    Both,
}

/// One permission entry; the first names the owner and everyone's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The domain.
    pub domid: u16,
    /// Its access.
    pub access: Access,
}

impl Permission {
    /// Parses `[nrwb]<domid>`.
    pub fn parse(s: &str) -> Result<Permission, WireError> {
        let mut chars = s.chars();
        let access = match chars.next() {
            Some('n') => Access::None,
            Some('r') => Access::Read,
            Some('w') => Access::Write,
            Some('b') => Access::Both,
            _ => return Err(WireError::BadPermission),
        };
        let rest = chars.as_str();
        if rest.is_empty() || !rest.bytes().all(|c| c.is_ascii_digit()) {
            return Err(WireError::BadPermission);
        }
        let domid = rest.parse().map_err(|_| WireError::BadPermission)?;
        Ok(Permission { domid, access })
    }

    /// The wire form.
    pub fn to_wire(&self) -> String {
        let c = match self.access {
            Access::None => 'n',
            Access::Read => 'r',
            Access::Write => 'w',
            Access::Both => 'b',
        };
        alloc::format!("{c}{}", self.domid)
    }
}

/// Parses an `XS_GET_PERMS` reply.
pub fn parse_perms(payload: &[u8]) -> Result<Vec<Permission>, WireError> {
    parse_strings(payload)?
        .iter()
        .map(|s| Permission::parse(s))
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::{Arbitrary, Gen, QuickCheck};

    #[test]
    fn header_round_trip_bytes() {
        let h = Header {
            ty: MsgType::Read,
            req_id: 7,
            tx_id: 3,
            len: 5,
        };
        let b = h.emit();
        assert_eq!(b, [2, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(Header::parse(&b), Ok(h));
    }

    #[test]
    fn header_rejects_bad_type_and_length() {
        let mut b = [0u8; 16];
        b[0] = 20; // the removed XS_RESTRICT
        assert_eq!(Header::parse(&b), Err(WireError::UnknownType(20)));
        b[0] = 2;
        b[12..16].copy_from_slice(&4097u32.to_le_bytes());
        assert_eq!(Header::parse(&b), Err(WireError::TooLong(4097)));
    }

    #[test]
    fn replies() {
        assert_eq!(parse_ok(b"OK\0"), Ok(()));
        assert_eq!(parse_ok(b"OK"), Err(WireError::NotOk));
        assert_eq!(parse_tx_id(b"42\0"), Ok(42));
        assert_eq!(parse_tx_id(b"4x\0"), Err(WireError::BadNumber));
        assert_eq!(parse_tx_id(b"99999999999\0"), Err(WireError::BadNumber));
        assert_eq!(parse_tx_id(b"42"), Err(WireError::MissingNul));
        assert_eq!(
            parse_strings(b"a\0bc\0").unwrap(),
            alloc::vec![String::from("a"), String::from("bc")]
        );
        assert_eq!(parse_strings(b"").unwrap(), Vec::<String>::new());
        assert_eq!(parse_strings(b"a\0b"), Err(WireError::MissingNul));
        assert_eq!(parse_strings(b"\xff\0"), Err(WireError::NotUtf8));
        let e = parse_watch_event(b"device/vif\0tok\0").unwrap();
        assert_eq!((e.path.as_str(), e.token.as_str()), ("device/vif", "tok"));
        assert!(parse_watch_event(b"only\0").is_err());
        let p = parse_perms(b"n0\0r1\0b12\0").unwrap();
        assert_eq!(
            p[2],
            Permission {
                domid: 12,
                access: Access::Both
            }
        );
        assert_eq!(p[1].to_wire(), "r1");
        assert!(parse_perms(b"x1\0").is_err());
        assert!(parse_perms(b"r\0").is_err());
        assert!(parse_perms(b"r99999\0").is_err());
    }

    #[test]
    fn errors() {
        let m = Message::new(MsgType::Error, 1, 0, b"EAGAIN\0".to_vec()).unwrap();
        assert_eq!(m.error(), Some(Ok(Errno::EAGAIN)));
        let m = Message::new(MsgType::Error, 1, 0, b"EWHAT\0".to_vec()).unwrap();
        assert_eq!(m.error(), Some(Err(WireError::UnknownErrno)));
        let m = Message::new(MsgType::Read, 1, 0, b"x".to_vec()).unwrap();
        assert_eq!(m.error(), None);
        for (e, n) in ERRNOS {
            assert_eq!(Errno::from_name(n.as_bytes()), Some(e));
            assert_eq!(e.name(), n);
        }
    }

    #[test]
    fn paths() {
        for ok in [
            "/",
            "device/vif/0",
            "/local/domain/1/name",
            "@introduceDomain",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a//b", "a/", "a b", "a@b", "a\0b", "ü"] {
            assert_eq!(check_path(bad), Err(WireError::InvalidPath), "{bad:?}");
        }
        assert!(write_payload("a", &[0u8; 4094]).is_ok());
        assert!(write_payload("a", &[0u8; 4095]).is_err());
    }

    #[derive(Debug, Clone)]
    struct ArbMessage(Message);

    impl Arbitrary for ArbMessage {
        fn arbitrary(g: &mut Gen) -> Self {
            let types = [
                MsgType::Read,
                MsgType::Write,
                MsgType::Directory,
                MsgType::WatchEvent,
                MsgType::Error,
                MsgType::TransactionStart,
            ];
            let ty = *g.choose(&types).unwrap_or(&MsgType::Read);
            let mut payload = Vec::<u8>::arbitrary(g);
            payload.truncate(XENSTORE_PAYLOAD_MAX as usize);
            ArbMessage(Message {
                ty,
                req_id: u32::arbitrary(g),
                tx_id: u32::arbitrary(g),
                payload,
            })
        }
    }

    #[test]
    fn quickcheck_stream_round_trip_in_fragments() {
        fn prop(msgs: Vec<ArbMessage>, cut: Vec<u8>) -> bool {
            let bytes: Vec<u8> = msgs.iter().flat_map(|m| m.0.encode()).collect();
            let mut d = Decoder::new();
            let mut out = Vec::new();
            let mut rest = &bytes[..];
            let mut cuts = cut.iter().cycle();
            while !rest.is_empty() {
                let n = (usize::from(*cuts.next().unwrap_or(&7)) + 1).min(rest.len());
                d.push(&rest[..n]);
                rest = &rest[n..];
                while let Ok(Some(m)) = d.next_message() {
                    out.push(m);
                }
            }
            out.len() == msgs.len() && out.iter().zip(&msgs).all(|(a, b)| *a == b.0)
        }
        QuickCheck::new()
            .tests(200)
            .quickcheck(prop as fn(Vec<ArbMessage>, Vec<u8>) -> bool);
    }

    #[test]
    fn quickcheck_never_panics_on_arbitrary_bytes() {
        fn prop(bytes: Vec<u8>) -> bool {
            let mut d = Decoder::new();
            d.push(&bytes);
            for _ in 0..bytes.len() + 1 {
                match d.next_message() {
                    Ok(Some(m)) => {
                        let _ = parse_strings(&m.payload);
                        let _ = parse_perms(&m.payload);
                        let _ = parse_tx_id(&m.payload);
                        let _ = parse_watch_event(&m.payload);
                        let _ = m.error();
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let _ = parse_strings(&bytes);
            let _ = parse_perms(&bytes);
            let _ = parse_tx_id(&bytes);
            true
        }
        QuickCheck::new()
            .tests(500)
            .quickcheck(prop as fn(Vec<u8>) -> bool);
    }

    #[test]
    fn quickcheck_strings_round_trip() {
        fn prop(parts: Vec<String>) -> bool {
            let parts: Vec<String> = parts.into_iter().map(|s| s.replace('\0', "")).collect();
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            match strings_payload(&refs) {
                Ok(p) => parse_strings(&p).ok() == Some(parts.clone()) || parts.is_empty(),
                Err(_) => true,
            }
        }
        QuickCheck::new()
            .tests(200)
            .quickcheck(prop as fn(Vec<String>) -> bool);
    }
}
