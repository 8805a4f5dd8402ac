//! SOA: the start of a zone of authority (RFC 1035 §3.3.13).

use core::fmt;

use nom::IResult;
use nom::number::complete::be_u32;

use super::Ctx;
use crate::wire::error::WireError;
use crate::wire::name::Name;
use crate::wire::writer::Writer;

/// The data of an SOA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// The primary name server.
    pub mname: Name,
    /// The mailbox of the person responsible, as a name.
    pub rname: Name,
    /// Version number of the zone.
    pub serial: u32,
    /// Seconds between secondary refreshes.
    pub refresh: u32,
    /// Seconds before a failed refresh is retried.
    pub retry: u32,
    /// Seconds after which a secondary stops answering without a refresh.
    pub expire: u32,
    /// The TTL of negative answers (RFC 2308 §4).
    pub minimum: u32,
}

impl Soa {
    pub(crate) fn parse<'a>(ctx: Ctx<'a>, input: &'a [u8]) -> IResult<&'a [u8], Soa, WireError> {
        let (input, mname) = ctx.name(input)?;
        let (input, rname) = ctx.name(input)?;
        let (input, serial) = be_u32(input)?;
        let (input, refresh) = be_u32(input)?;
        let (input, retry) = be_u32(input)?;
        let (input, expire) = be_u32(input)?;
        let (input, minimum) = be_u32(input)?;
        Ok((
            input,
            Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.name(&self.mname, true);
        w.name(&self.rname, true);
        for v in [
            self.serial,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum,
        ] {
            w.u32(v);
        }
    }
}

impl fmt::Display for Soa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.mname,
            self.rname,
            self.serial,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum
        )
    }
}
