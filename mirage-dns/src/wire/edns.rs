//! EDNS(0): the OPT pseudo-record (RFC 6891).

use nom::IResult;
use nom::number::complete::be_u16;

use super::error::{Field, WireError};
use super::writer::Writer;

/// The UDP payload size assumed for a query without EDNS (RFC 1035 §4.2.1).
pub const CLASSIC_UDP_SIZE: u16 = 512;

/// One EDNS option, kept as code and opaque data (so unknown options survive a round trip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnsOption {
    /// Option code (e.g. 10 COOKIE, 15 Extended DNS Error).
    pub code: u16,
    /// Option data.
    pub data: Vec<u8>,
}

/// The contents of the OPT record of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edns {
    /// Largest UDP payload the sender can reassemble (the OPT CLASS field).
    pub udp_payload_size: u16,
    /// Upper 8 bits of the 12-bit response code.
    pub ext_rcode: u8,
    /// EDNS version; only 0 is defined.
    pub version: u8,
    /// DNSSEC OK: the sender wants DNSSEC records (RFC 3225).
    pub dnssec_ok: bool,
    /// The other 15 flag bits, which must be zero today but are preserved.
    pub z: u16,
    /// Options in the order received.
    pub options: Vec<EdnsOption>,
}

impl Default for Edns {
    fn default() -> Edns {
        Edns {
            udp_payload_size: 1232,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
            z: 0,
            options: Vec::new(),
        }
    }
}

impl Edns {
    /// Builds from the OPT record's CLASS, TTL and rdata.
    pub fn from_opt(class: u16, ttl: u32, rdata: &[u8]) -> Result<Edns, WireError> {
        let mut options = Vec::new();
        let mut input = rdata;
        while !input.is_empty() {
            let (rest, opt) = option(input).map_err(|_| WireError::Truncated(Field::EdnsOption))?;
            options.push(opt);
            input = rest;
        }
        Ok(Edns {
            udp_payload_size: class,
            ext_rcode: (ttl >> 24) as u8,
            version: (ttl >> 16) as u8,
            dnssec_ok: ttl & 0x8000 != 0,
            z: (ttl & 0x7FFF) as u16,
            options,
        })
    }

    /// The OPT record's TTL field.
    pub fn ttl(&self) -> u32 {
        (self.ext_rcode as u32) << 24
            | (self.version as u32) << 16
            | (self.dnssec_ok as u32) << 15
            | (self.z & 0x7FFF) as u32
    }

    /// The payload size a responder may use: at least 512 (RFC 6891 §6.2.3).
    pub fn effective_payload(&self) -> u16 {
        self.udp_payload_size.max(CLASSIC_UDP_SIZE)
    }

    /// Appends the whole OPT record.
    pub fn emit(&self, w: &mut Writer<'_>) {
        w.u8(0);
        w.u16(super::rtype::Type::OPT.0);
        w.u16(self.udp_payload_size);
        w.u32(self.ttl());
        let len: usize = self.options.iter().map(|o| 4 + o.data.len()).sum();
        w.u16(len as u16);
        for o in &self.options {
            w.u16(o.code);
            w.u16(o.data.len() as u16);
            w.bytes(&o.data);
        }
    }
}

fn option(input: &[u8]) -> IResult<&[u8], EdnsOption, WireError> {
    let (input, code) = be_u16(input)?;
    let (input, len) = be_u16(input)?;
    let (input, data) = nom::bytes::complete::take(len)(input)?;
    Ok((
        input,
        EdnsOption {
            code,
            data: data.to_vec(),
        },
    ))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_opt_fields() {
        let e = Edns::from_opt(4096, 0x0100_8000, b"\x00\x0a\x00\x02ab").unwrap();
        assert_eq!(
            (e.udp_payload_size, e.ext_rcode, e.version, e.dnssec_ok),
            (4096, 1, 0, true)
        );
        assert_eq!(
            e.options,
            vec![EdnsOption {
                code: 10,
                data: b"ab".to_vec()
            }]
        );
        assert_eq!(e.ttl(), 0x0100_8000);
        assert_eq!(
            Edns::from_opt(512, 0, b"\x00\x0a\x00\x05ab"),
            Err(WireError::Truncated(Field::EdnsOption))
        );
    }
}
