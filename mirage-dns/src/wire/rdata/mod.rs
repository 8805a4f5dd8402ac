//! Record data: one type per record kind, each parsed from and emitted to
//! the wire and printed in presentation form. Types this crate does not know
//! are kept as opaque bytes ([`RData::Unknown`], RFC 3597).

mod cert;
mod dnssec;
mod loc;
mod mail;
mod nsec3;
mod soa;
mod svcb;
mod txt;

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use nom::IResult;
use nom::number::complete::{be_u8, be_u32};

pub use cert::{Caa, Sshfp, Tlsa};
pub use dnssec::{Dnskey, Ds, Nsec, Rrsig, TypeBitmap, fmt_timestamp, parse_timestamp};
pub use loc::{LOC_ALT_BASE, LOC_ORIGIN, Loc, precision_from_cm};
pub use mail::{Mx, Srv};
pub use nsec3::{Nsec3, Nsec3Param};
pub use soa::Soa;
pub use svcb::{SvcParam, SvcParamKey, Svcb};
pub use txt::{Txt, fmt_character_string};

use super::error::{EmitError, WireError};
use super::name::Name;
use super::rtype::Type;
use super::writer::Writer;

/// The data of one resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// An authoritative name server.
    Ns(Name),
    /// The canonical name of an alias.
    Cname(Name),
    /// A redirection of a whole subtree (RFC 6672).
    Dname(Name),
    /// A pointer, mostly for reverse mapping.
    Ptr(Name),
    /// The start of a zone of authority.
    Soa(Soa),
    /// A mail exchanger.
    Mx(Mx),
    /// Text strings.
    Txt(Txt),
    /// Sender Policy Framework text (RFC 7208 deprecates it; kept for old zones).
    Spf(Txt),
    /// A service location (RFC 2782).
    Srv(Srv),
    /// Certification authority authorization (RFC 8659).
    Caa(Caa),
    /// An SSH key fingerprint (RFC 4255).
    Sshfp(Sshfp),
    /// A TLS certificate association (RFC 6698).
    Tlsa(Tlsa),
    /// A delegation signer (RFC 4034).
    Ds(Ds),
    /// A DNSSEC public key (RFC 4034).
    Dnskey(Dnskey),
    /// A DNSSEC signature (RFC 4034).
    Rrsig(Rrsig),
    /// Next secure (RFC 4034).
    Nsec(Nsec),
    /// Hashed next secure (RFC 5155).
    Nsec3(Nsec3),
    /// The parameters of a zone's NSEC3 chain (RFC 5155).
    Nsec3Param(Nsec3Param),
    /// A service binding (RFC 9460).
    Svcb(Svcb),
    /// A service binding for HTTPS (RFC 9460).
    Https(Svcb),
    /// A geographical location (RFC 1876).
    Loc(Loc),
    /// Anything at all (RFC 1035 §3.3.10).
    Null(Vec<u8>),
    /// Data of a type this crate does not interpret (RFC 3597).
    Unknown {
        /// The record type: never one of the types above, except for the
        /// empty data of class ANY or NONE records in an UPDATE (RFC 2136 §2.4, §2.5).
        rtype: Type,
        /// The raw rdata.
        data: Vec<u8>,
    },
}

/// Where the rdata being parsed sits inside the message, so names can follow pointers.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// The message up to the end of this rdata.
    msg: &'a [u8],
}

impl<'a> Ctx<'a> {
    /// Reads a (possibly compressed) name from `input`, a tail of the rdata.
    pub(crate) fn name(self, input: &'a [u8]) -> IResult<&'a [u8], Name, WireError> {
        let pos = self.msg.len() - input.len();
        let (name, next) = Name::parse(self.msg, pos).map_err(nom::Err::Failure)?;
        Ok((&input[next - pos..], name))
    }
}

/// Reads a character-string: a length byte and that many bytes.
pub(crate) fn character_string(input: &[u8]) -> IResult<&[u8], Vec<u8>, WireError> {
    let (input, len) = be_u8(input)?;
    let (input, s) = nom::bytes::complete::take(len)(input)?;
    Ok((input, s.to_vec()))
}

impl RData {
    /// The record type of this data.
    pub fn rtype(&self) -> Type {
        match self {
            RData::A(_) => Type::A,
            RData::Aaaa(_) => Type::AAAA,
            RData::Ns(_) => Type::NS,
            RData::Cname(_) => Type::CNAME,
            RData::Dname(_) => Type::DNAME,
            RData::Ptr(_) => Type::PTR,
            RData::Soa(_) => Type::SOA,
            RData::Mx(_) => Type::MX,
            RData::Txt(_) => Type::TXT,
            RData::Spf(_) => Type::SPF,
            RData::Srv(_) => Type::SRV,
            RData::Caa(_) => Type::CAA,
            RData::Sshfp(_) => Type::SSHFP,
            RData::Tlsa(_) => Type::TLSA,
            RData::Ds(_) => Type::DS,
            RData::Dnskey(_) => Type::DNSKEY,
            RData::Rrsig(_) => Type::RRSIG,
            RData::Nsec(_) => Type::NSEC,
            RData::Nsec3(_) => Type::NSEC3,
            RData::Nsec3Param(_) => Type::NSEC3PARAM,
            RData::Svcb(_) => Type::SVCB,
            RData::Https(_) => Type::HTTPS,
            RData::Loc(_) => Type::LOC,
            RData::Null(_) => Type::NULL,
            RData::Unknown { rtype, .. } => *rtype,
        }
    }

    /// Whether this crate interprets `rtype` (otherwise its data stays opaque).
    pub fn is_known(rtype: Type) -> bool {
        matches!(
            rtype,
            Type::A
                | Type::AAAA
                | Type::NS
                | Type::CNAME
                | Type::DNAME
                | Type::PTR
                | Type::SOA
                | Type::MX
                | Type::TXT
                | Type::SPF
                | Type::SRV
                | Type::CAA
                | Type::SSHFP
                | Type::TLSA
                | Type::DS
                | Type::DNSKEY
                | Type::RRSIG
                | Type::NSEC
                | Type::NSEC3
                | Type::NSEC3PARAM
                | Type::SVCB
                | Type::HTTPS
                | Type::LOC
                | Type::NULL
        )
    }

    /// Parses the rdata of type `rtype` that occupies `msg[start..]`; names
    /// may point back into `msg`.
    pub fn parse(rtype: Type, msg: &[u8], start: usize) -> Result<RData, WireError> {
        let ctx = Ctx { msg };
        let input = &msg[start..];
        let len = input.len() as u16;
        let res = Self::parse_typed(rtype, ctx, input);
        match res {
            Ok(([], rdata)) => Ok(rdata),
            Err(nom::Err::Failure(e)) => Err(e),
            _ => Err(WireError::RdataLength { rtype, len }),
        }
    }

    /// Interprets generic (RFC 3597) rdata of a known type.
    pub fn from_generic(rtype: Type, data: &[u8]) -> Result<RData, WireError> {
        RData::parse(rtype, data, 0)
    }

    fn parse_typed<'a>(
        rtype: Type,
        ctx: Ctx<'a>,
        input: &'a [u8],
    ) -> IResult<&'a [u8], RData, WireError> {
        Ok(match rtype {
            Type::A => {
                let (i, v) = be_u32(input)?;
                (i, RData::A(Ipv4Addr::from(v)))
            }
            Type::AAAA => {
                let (i, b) = nom::bytes::complete::take(16usize)(input)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                (i, RData::Aaaa(Ipv6Addr::from(a)))
            }
            Type::NS => map(ctx.name(input), RData::Ns)?,
            Type::CNAME => map(ctx.name(input), RData::Cname)?,
            Type::DNAME => map(ctx.name(input), RData::Dname)?,
            Type::PTR => map(ctx.name(input), RData::Ptr)?,
            Type::SOA => map(Soa::parse(ctx, input), RData::Soa)?,
            Type::MX => map(Mx::parse(ctx, input), RData::Mx)?,
            Type::TXT => map(Txt::parse(input), RData::Txt)?,
            Type::SPF => map(Txt::parse(input), RData::Spf)?,
            Type::SRV => map(Srv::parse(ctx, input), RData::Srv)?,
            Type::CAA => map(Caa::parse(input), RData::Caa)?,
            Type::SSHFP => map(Sshfp::parse(input), RData::Sshfp)?,
            Type::TLSA => map(Tlsa::parse(input), RData::Tlsa)?,
            Type::DS => map(Ds::parse(input), RData::Ds)?,
            Type::DNSKEY => map(Dnskey::parse(input), RData::Dnskey)?,
            Type::RRSIG => map(Rrsig::parse(ctx, input), RData::Rrsig)?,
            Type::NSEC => map(Nsec::parse(ctx, input), RData::Nsec)?,
            Type::NSEC3 => map(Nsec3::parse(input), RData::Nsec3)?,
            Type::NSEC3PARAM => map(Nsec3Param::parse(input), RData::Nsec3Param)?,
            Type::SVCB => map(Svcb::parse(ctx, input), RData::Svcb)?,
            Type::HTTPS => map(Svcb::parse(ctx, input), RData::Https)?,
            Type::LOC => map(Loc::parse(input), RData::Loc)?,
            Type::NULL => (&input[input.len()..], RData::Null(input.to_vec())),
            _ => (
                &input[input.len()..],
                RData::Unknown {
                    rtype,
                    data: input.to_vec(),
                },
            ),
        })
    }

    /// Appends the rdata (without its length). Names are compressed only in
    /// the RFC 1035 types, as RFC 3597 §4 requires.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), EmitError> {
        match self {
            RData::A(a) => w.bytes(&a.octets()),
            RData::Aaaa(a) => w.bytes(&a.octets()),
            RData::Ns(n) | RData::Cname(n) | RData::Ptr(n) => w.name(n, true),
            RData::Dname(n) => w.name(n, false),
            RData::Soa(s) => s.emit(w),
            RData::Mx(m) => m.emit(w),
            RData::Txt(t) | RData::Spf(t) => t.emit(w)?,
            RData::Srv(s) => s.emit(w),
            RData::Caa(c) => c.emit(w)?,
            RData::Sshfp(s) => s.emit(w),
            RData::Tlsa(t) => t.emit(w),
            RData::Ds(d) => d.emit(w),
            RData::Dnskey(d) => d.emit(w),
            RData::Rrsig(r) => r.emit(w),
            RData::Nsec(n) => n.emit(w),
            RData::Nsec3(n) => n.emit(w),
            RData::Nsec3Param(n) => n.emit(w),
            RData::Svcb(s) | RData::Https(s) => s.emit(w),
            RData::Loc(l) => l.emit(w),
            RData::Null(d) | RData::Unknown { data: d, .. } => w.bytes(d),
        }
        Ok(())
    }

    /// The uncompressed wire form of the rdata.
    pub fn to_wire(&self) -> Result<Vec<u8>, EmitError> {
        let mut buf = Vec::new();
        self.emit(&mut Writer::new(&mut buf))?;
        Ok(buf)
    }

    /// The target name a CNAME, DNAME, NS, MX, SRV or SVCB/HTTPS points at.
    pub fn target(&self) -> Option<&Name> {
        match self {
            RData::Ns(n) | RData::Cname(n) | RData::Dname(n) | RData::Ptr(n) => Some(n),
            RData::Mx(m) => Some(&m.exchange),
            RData::Srv(s) => Some(&s.target),
            RData::Svcb(s) | RData::Https(s) => Some(&s.target),
            _ => None,
        }
    }
}

fn map<T>(
    r: IResult<&[u8], T, WireError>,
    f: impl FnOnce(T) -> RData,
) -> IResult<&[u8], RData, WireError> {
    r.map(|(i, v)| (i, f(v)))
}

/// Writes bytes in the RFC 3597 generic form `\# len hex`.
pub fn fmt_generic(data: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "\\# {}", data.len())?;
    if !data.is_empty() {
        write!(f, " {}", data_encoding::HEXUPPER.encode(data))?;
    }
    Ok(())
}

impl fmt::Display for RData {
    /// Writes the rdata in presentation form, as in a zone file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Ns(n) | RData::Cname(n) | RData::Dname(n) | RData::Ptr(n) => write!(f, "{n}"),
            RData::Soa(s) => write!(f, "{s}"),
            RData::Mx(m) => write!(f, "{m}"),
            RData::Txt(t) | RData::Spf(t) => write!(f, "{t}"),
            RData::Srv(s) => write!(f, "{s}"),
            RData::Caa(c) => write!(f, "{c}"),
            RData::Sshfp(s) => write!(f, "{s}"),
            RData::Tlsa(t) => write!(f, "{t}"),
            RData::Ds(d) => write!(f, "{d}"),
            RData::Dnskey(d) => write!(f, "{d}"),
            RData::Rrsig(r) => write!(f, "{r}"),
            RData::Nsec(n) => write!(f, "{n}"),
            RData::Nsec3(n) => write!(f, "{n}"),
            RData::Nsec3Param(n) => write!(f, "{n}"),
            RData::Svcb(s) | RData::Https(s) => write!(f, "{s}"),
            RData::Loc(l) => write!(f, "{l}"),
            RData::Null(d) | RData::Unknown { data: d, .. } => fmt_generic(d, f),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_rejects_bad_length() {
        assert_eq!(
            RData::parse(Type::A, &[1, 2, 3], 0),
            Err(WireError::RdataLength {
                rtype: Type::A,
                len: 3
            })
        );
        assert_eq!(
            RData::parse(Type::A, &[1, 2, 3, 4, 5], 0),
            Err(WireError::RdataLength {
                rtype: Type::A,
                len: 5
            })
        );
        assert_eq!(
            RData::parse(Type::A, &[192, 0, 2, 1], 0),
            Ok(RData::A(Ipv4Addr::new(192, 0, 2, 1)))
        );
    }

    #[test]
    fn test_unknown_generic() {
        let r = RData::parse(Type(65280), &[0xde, 0xad], 0).unwrap();
        assert_eq!(r.to_string(), "\\# 2 DEAD");
        assert_eq!(RData::Null(vec![]).to_string(), "\\# 0");
    }
}
