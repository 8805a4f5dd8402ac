//! SVCB and HTTPS service bindings (RFC 9460).

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use nom::IResult;
use nom::number::complete::be_u16;

use super::{Ctx, fmt_character_string};
use crate::wire::error::{Field, WireError};
use crate::wire::name::Name;
use crate::wire::writer::Writer;

/// A SvcParamKey (RFC 9460 §14.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SvcParamKey(pub u16);

impl SvcParamKey {
    /// Keys the client must understand.
    pub const MANDATORY: SvcParamKey = SvcParamKey(0);
    /// Application protocols (ALPN ids).
    pub const ALPN: SvcParamKey = SvcParamKey(1);
    /// The default protocol is not supported.
    pub const NO_DEFAULT_ALPN: SvcParamKey = SvcParamKey(2);
    /// The port.
    pub const PORT: SvcParamKey = SvcParamKey(3);
    /// IPv4 address hints.
    pub const IPV4HINT: SvcParamKey = SvcParamKey(4);
    /// Encrypted ClientHello configuration.
    pub const ECH: SvcParamKey = SvcParamKey(5);
    /// IPv6 address hints.
    pub const IPV6HINT: SvcParamKey = SvcParamKey(6);

    /// The presentation name of a key: a mnemonic or `keyNNNNN`.
    pub fn name(self) -> String {
        match self.0 {
            0 => "mandatory".into(),
            1 => "alpn".into(),
            2 => "no-default-alpn".into(),
            3 => "port".into(),
            4 => "ipv4hint".into(),
            5 => "ech".into(),
            6 => "ipv6hint".into(),
            n => format!("key{n}"),
        }
    }

    /// Reads a key name (mnemonic or `keyNNNNN`).
    pub fn from_name(s: &str) -> Option<SvcParamKey> {
        let known = [
            "mandatory",
            "alpn",
            "no-default-alpn",
            "port",
            "ipv4hint",
            "ech",
            "ipv6hint",
        ];
        if let Some(i) = known.iter().position(|k| *k == s) {
            return Some(SvcParamKey(i as u16));
        }
        let digits = s.strip_prefix("key")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(SvcParamKey)
    }
}

/// One SvcParam: a key and its wire-form value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcParam {
    /// The key.
    pub key: SvcParamKey,
    /// The value in wire form.
    pub value: Vec<u8>,
}

/// The data of an SVCB or HTTPS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svcb {
    /// 0 for alias mode, otherwise the service priority.
    pub priority: u16,
    /// The target name (never compressed); `.` means the owner itself.
    pub target: Name,
    /// Parameters, in strictly increasing key order.
    pub params: Vec<SvcParam>,
}

impl Svcb {
    pub(crate) fn parse<'a>(ctx: Ctx<'a>, input: &'a [u8]) -> IResult<&'a [u8], Svcb, WireError> {
        let (mut input, priority) = be_u16(input)?;
        let (rest, target) = ctx.name(input)?;
        input = rest;
        let bad = || nom::Err::Failure(WireError::BadRdata(Field::SvcParam));
        let mut params: Vec<SvcParam> = Vec::new();
        while !input.is_empty() {
            let (rest, key) = be_u16::<_, WireError>(input).map_err(|_| bad())?;
            let (rest, len) = be_u16::<_, WireError>(rest).map_err(|_| bad())?;
            let value = rest.get(..len as usize).ok_or_else(bad)?;
            if params.last().is_some_and(|p| p.key.0 >= key) {
                return Err(bad());
            }
            params.push(SvcParam {
                key: SvcParamKey(key),
                value: value.to_vec(),
            });
            input = &rest[len as usize..];
        }
        Ok((
            input,
            Svcb {
                priority,
                target,
                params,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.priority);
        w.name(&self.target, false);
        for p in &self.params {
            w.u16(p.key.0);
            w.u16(p.value.len() as u16);
            w.bytes(&p.value);
        }
    }
}

/// Formats a parameter value in its key's own syntax, or `None` when the
/// value does not decode (it is then printed in the generic form).
fn fmt_known(p: &SvcParam) -> Option<String> {
    let v = &p.value;
    match p.key {
        SvcParamKey::MANDATORY if !v.is_empty() && v.len().is_multiple_of(2) => {
            let keys: Vec<String> = v
                .chunks(2)
                .map(|c| SvcParamKey(u16::from_be_bytes([c[0], c[1]])).name())
                .collect();
            Some(keys.join(","))
        }
        SvcParamKey::ALPN if !v.is_empty() => {
            let mut ids = Vec::new();
            let mut rest = &v[..];
            while let Some((&l, tail)) = rest.split_first() {
                let id = tail.get(..l as usize)?;
                if id.is_empty()
                    || !id
                        .iter()
                        .all(|&b| (0x21..=0x7E).contains(&b) && !b",\\\"();".contains(&b))
                {
                    return None;
                }
                ids.push(String::from_utf8_lossy(id).into_owned());
                rest = &tail[l as usize..];
            }
            Some(ids.join(","))
        }
        SvcParamKey::PORT if v.len() == 2 => Some(u16::from_be_bytes([v[0], v[1]]).to_string()),
        SvcParamKey::IPV4HINT if !v.is_empty() && v.len().is_multiple_of(4) => {
            let a: Vec<String> = v
                .chunks(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
                .collect();
            Some(a.join(","))
        }
        SvcParamKey::IPV6HINT if !v.is_empty() && v.len().is_multiple_of(16) => {
            let a: Vec<String> = v
                .chunks(16)
                .map(|c| {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    Ipv6Addr::from(o).to_string()
                })
                .collect();
            Some(a.join(","))
        }
        SvcParamKey::ECH if !v.is_empty() => Some(data_encoding::BASE64.encode(v)),
        _ => None,
    }
}

/// Writes parameters in presentation form.
struct Params<'a>(&'a [SvcParam]);

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            f.write_str(" ")?;
            if p.key == SvcParamKey::NO_DEFAULT_ALPN && p.value.is_empty() {
                f.write_str("no-default-alpn")?;
            } else if let Some(v) = fmt_known(p) {
                write!(f, "{}={v}", p.key.name())?;
            } else if p.value.is_empty() {
                write!(f, "key{}", p.key.0)?;
            } else {
                write!(f, "key{}=", p.key.0)?;
                fmt_character_string(&p.value, f)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Svcb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}",
            self.priority,
            self.target,
            Params(&self.params)
        )
    }
}
