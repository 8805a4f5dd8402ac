//! The 12-byte message header (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD).

use core::fmt;

use nom::IResult;
use nom::number::complete::be_u16;

use super::error::WireError;
use super::writer::Writer;

/// Length of the header on the wire.
pub const HEADER_LEN: usize = 12;

/// A message operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// A standard query.
    pub const QUERY: Opcode = Opcode(0);
    /// An inverse query (obsolete, RFC 3425).
    pub const IQUERY: Opcode = Opcode(1);
    /// A server status request.
    pub const STATUS: Opcode = Opcode(2);
    /// A zone change notification (RFC 1996).
    pub const NOTIFY: Opcode = Opcode(4);
    /// A dynamic update (RFC 2136).
    pub const UPDATE: Opcode = Opcode(5);
}

/// A response code, up to 12 bits with the EDNS extension (RFC 6891 §6.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rcode(pub u16);

impl Rcode {
    /// No error.
    pub const NOERROR: Rcode = Rcode(0);
    /// The query was malformed.
    pub const FORMERR: Rcode = Rcode(1);
    /// The server failed.
    pub const SERVFAIL: Rcode = Rcode(2);
    /// The name does not exist.
    pub const NXDOMAIN: Rcode = Rcode(3);
    /// The kind of query is not implemented.
    pub const NOTIMP: Rcode = Rcode(4);
    /// The server refuses to answer.
    pub const REFUSED: Rcode = Rcode(5);
    /// A name exists when it should not (also: DNAME result too long, RFC 6672 §2.2).
    pub const YXDOMAIN: Rcode = Rcode(6);
    /// An RRset exists when it should not (RFC 2136).
    pub const YXRRSET: Rcode = Rcode(7);
    /// An RRset does not exist when it should (RFC 2136).
    pub const NXRRSET: Rcode = Rcode(8);
    /// The server is not authoritative, or a TSIG check failed (RFC 8945).
    pub const NOTAUTH: Rcode = Rcode(9);
    /// A name is outside the zone of an update (RFC 2136).
    pub const NOTZONE: Rcode = Rcode(10);
    /// The EDNS version is not supported (RFC 6891 §6.1.3).
    pub const BADVERS: Rcode = Rcode(16);

    /// The low 4 bits, carried in the header.
    pub fn low(self) -> u8 {
        (self.0 & 0xF) as u8
    }

    /// The high 8 bits, carried in the OPT record.
    pub fn high(self) -> u8 {
        (self.0 >> 4) as u8
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            16 => "BADVERS",
            n => return write!(f, "RCODE{n}"),
        };
        f.write_str(name)
    }
}

/// The header fields other than the section counts, which a message derives from its sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Query identifier, copied into the response.
    pub id: u16,
    /// Set in responses.
    pub qr: bool,
    /// Operation code (4 bits).
    pub opcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// The reserved Z bit.
    pub z: bool,
    /// Authentic data (RFC 4035).
    pub ad: bool,
    /// Checking disabled (RFC 4035).
    pub cd: bool,
    /// Low 4 bits of the response code.
    pub rcode: u8,
}

/// The four section counts of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Questions.
    pub qd: u16,
    /// Answer records.
    pub an: u16,
    /// Authority records.
    pub ns: u16,
    /// Additional records.
    pub ar: u16,
}

impl Header {
    /// Parses the header and its counts.
    pub fn parse(input: &[u8]) -> IResult<&[u8], (Header, Counts), WireError> {
        if input.len() < HEADER_LEN {
            return Err(nom::Err::Failure(WireError::ShortHeader));
        }
        let (input, id) = be_u16(input)?;
        let (input, flags) = be_u16(input)?;
        let (input, qd) = be_u16(input)?;
        let (input, an) = be_u16(input)?;
        let (input, ns) = be_u16(input)?;
        let (input, ar) = be_u16(input)?;
        Ok((
            input,
            (Header::from_flags(id, flags), Counts { qd, an, ns, ar }),
        ))
    }

    /// Builds a header from the ID and the 16-bit flags word.
    pub fn from_flags(id: u16, flags: u16) -> Header {
        let bit = |n: u16| flags & (1 << n) != 0;
        Header {
            id,
            qr: bit(15),
            opcode: ((flags >> 11) & 0xF) as u8,
            aa: bit(10),
            tc: bit(9),
            rd: bit(8),
            ra: bit(7),
            z: bit(6),
            ad: bit(5),
            cd: bit(4),
            rcode: (flags & 0xF) as u8,
        }
    }

    /// The 16-bit flags word.
    pub fn flags(&self) -> u16 {
        let b = |v: bool, n: u16| (v as u16) << n;
        b(self.qr, 15)
            | ((self.opcode as u16 & 0xF) << 11)
            | b(self.aa, 10)
            | b(self.tc, 9)
            | b(self.rd, 8)
            | b(self.ra, 7)
            | b(self.z, 6)
            | b(self.ad, 5)
            | b(self.cd, 4)
            | (self.rcode as u16 & 0xF)
    }

    /// Appends the header with the given counts.
    pub fn emit(&self, counts: Counts, w: &mut Writer<'_>) {
        w.u16(self.id);
        w.u16(self.flags());
        w.u16(counts.qd);
        w.u16(counts.an);
        w.u16(counts.ns);
        w.u16(counts.ar);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_emit() {
        let bytes = [0x12, 0x34, 0x85, 0xA3, 0, 1, 0, 2, 0, 3, 0, 4];
        let (rest, (h, c)) = Header::parse(&bytes).unwrap();
        assert!(rest.is_empty());
        assert!(h.qr && h.aa && h.rd && h.ra && !h.tc && h.ad);
        assert_eq!((h.id, h.opcode, h.rcode), (0x1234, 0, 3));
        assert_eq!(
            c,
            Counts {
                qd: 1,
                an: 2,
                ns: 3,
                ar: 4
            }
        );
        let mut buf = Vec::new();
        h.emit(c, &mut Writer::new(&mut buf));
        assert_eq!(buf, bytes);
        assert!(matches!(
            Header::parse(&bytes[..11]),
            Err(nom::Err::Failure(WireError::ShortHeader))
        ));
    }
}
