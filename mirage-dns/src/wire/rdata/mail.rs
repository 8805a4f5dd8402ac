//! Records that point at a host with a preference: MX (RFC 1035 §3.3.9)
//! and SRV (RFC 2782).

use core::fmt;

use nom::IResult;
use nom::number::complete::be_u16;

use super::Ctx;
use crate::wire::error::WireError;
use crate::wire::name::Name;
use crate::wire::writer::Writer;

/// The data of an MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// Lower is preferred.
    pub preference: u16,
    /// The mail server.
    pub exchange: Name,
}

impl Mx {
    pub(crate) fn parse<'a>(ctx: Ctx<'a>, input: &'a [u8]) -> IResult<&'a [u8], Mx, WireError> {
        let (input, preference) = be_u16(input)?;
        let (input, exchange) = ctx.name(input)?;
        Ok((
            input,
            Mx {
                preference,
                exchange,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.preference);
        w.name(&self.exchange, true);
    }
}

impl fmt::Display for Mx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.preference, self.exchange)
    }
}

/// The data of an SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among equal priorities.
    pub weight: u16,
    /// The service's port.
    pub port: u16,
    /// The host providing the service (never compressed, RFC 2782).
    pub target: Name,
}

impl Srv {
    pub(crate) fn parse<'a>(ctx: Ctx<'a>, input: &'a [u8]) -> IResult<&'a [u8], Srv, WireError> {
        let (input, priority) = be_u16(input)?;
        let (input, weight) = be_u16(input)?;
        let (input, port) = be_u16(input)?;
        let (input, target) = ctx.name(input)?;
        Ok((
            input,
            Srv {
                priority,
                weight,
                port,
                target,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.priority);
        w.u16(self.weight);
        w.u16(self.port);
        w.name(&self.target, false);
    }
}

impl fmt::Display for Srv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.priority, self.weight, self.port, self.target
        )
    }
}
