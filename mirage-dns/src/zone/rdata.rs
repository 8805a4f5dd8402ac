//! Record data in presentation form (the right-hand side of a zone file
//! line), including the generic `\# len hex` form of RFC 3597 §5.

use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::{BASE32HEX_NOPAD, BASE64, HEXLOWER_PERMISSIVE};

use super::error::ErrorKind;
use super::lexer::{Token, unescape};
use crate::wire::rdata::{
    Caa, Dnskey, Ds, LOC_ALT_BASE, LOC_ORIGIN, Loc, Mx, Nsec, Nsec3, Nsec3Param, Rrsig, Soa, Srv,
    Sshfp, SvcParam, SvcParamKey, Svcb, Tlsa, Txt, TypeBitmap, parse_timestamp, precision_from_cm,
};
use crate::wire::{Name, RData, Type};

/// A cursor over the rdata tokens of one entry.
struct Fields<'t> {
    tokens: &'t [Token],
    origin: &'t Name,
}

fn expected(expected: &'static str, found: &str) -> ErrorKind {
    ErrorKind::Expected {
        expected,
        found: found.into(),
    }
}

impl<'t> Fields<'t> {
    fn next(&mut self, what: &'static str) -> Result<&'t Token, ErrorKind> {
        let (first, rest) = self
            .tokens
            .split_first()
            .ok_or_else(|| expected(what, ""))?;
        self.tokens = rest;
        Ok(first)
    }

    fn peek(&self) -> Option<&'t Token> {
        self.tokens.first()
    }

    fn number<T: core::str::FromStr>(&mut self, what: &'static str) -> Result<T, ErrorKind> {
        let t = self.next(what)?;
        t.text.parse().map_err(|_| expected(what, &t.text))
    }

    fn ttl(&mut self, what: &'static str) -> Result<u32, ErrorKind> {
        let t = self.next(what)?;
        parse_ttl(&t.text).ok_or_else(|| expected(what, &t.text))
    }

    fn name(&mut self) -> Result<Name, ErrorKind> {
        let t = self.next("a domain name")?;
        parse_name(&t.text, self.origin)
    }

    fn string(&mut self) -> Result<Vec<u8>, ErrorKind> {
        let t = self.next("a character-string")?;
        let s = unescape(&t.text)?;
        if s.len() > 255 {
            return Err(ErrorKind::StringTooLong);
        }
        Ok(s)
    }

    /// The remaining tokens joined, as one binary blob (`-` alone means empty).
    fn rest_joined(&mut self) -> String {
        let s: String = self.tokens.iter().map(|t| t.text.as_str()).collect();
        self.tokens = &[];
        if s == "-" { String::new() } else { s }
    }

    fn rest_hex(&mut self) -> Result<Vec<u8>, ErrorKind> {
        let s = self.rest_joined();
        HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|_| expected("hexadecimal data", &s))
    }

    fn rest_base64(&mut self) -> Result<Vec<u8>, ErrorKind> {
        let s = self.rest_joined();
        BASE64
            .decode(s.as_bytes())
            .map_err(|_| expected("base64 data", &s))
    }

    fn done(&self) -> Result<(), ErrorKind> {
        match self.tokens.first() {
            None => Ok(()),
            Some(t) => Err(ErrorKind::TrailingData(t.text.clone())),
        }
    }
}

/// Reads a TTL: seconds, or BIND-style units (`1h30m`, `2d`, `1w`).
pub fn parse_ttl(s: &str) -> Option<u32> {
    if !s.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    if let Ok(v) = s.parse::<u32>() {
        return Some(v);
    }
    let mut total: u64 = 0;
    let mut n: u64 = 0;
    let mut digits = false;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            n = n.checked_mul(10)?.checked_add(d as u64)?;
            digits = true;
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604_800,
            _ => return None,
        };
        if !digits {
            return None;
        }
        total = total.checked_add(n.checked_mul(unit)?)?;
        n = 0;
        digits = false;
    }
    if digits {
        return None;
    }
    u32::try_from(total).ok()
}

/// Reads a domain name relative to `origin`; `@` is the origin itself.
pub fn parse_name(text: &str, origin: &Name) -> Result<Name, ErrorKind> {
    if text == "@" {
        return Ok(origin.clone());
    }
    Name::from_presentation(text, Some(origin)).map_err(|error| ErrorKind::BadName {
        found: text.into(),
        error,
    })
}

/// Parses the rdata of type `rtype` from `tokens`; relative names take `origin`.
pub fn parse_rdata(rtype: Type, tokens: &[Token], origin: &Name) -> Result<RData, ErrorKind> {
    let mut f = Fields { tokens, origin };
    if f.peek().is_some_and(|t| t.text == "\\#" && !t.quoted) {
        f.next("\\#")?;
        let declared: usize = f.number("the length of the generic rdata")?;
        let data = f.rest_hex()?;
        if data.len() != declared {
            return Err(ErrorKind::GenericLength {
                declared,
                actual: data.len(),
            });
        }
        return if RData::is_known(rtype) {
            RData::from_generic(rtype, &data).map_err(ErrorKind::BadGenericRdata)
        } else {
            Ok(RData::Unknown { rtype, data })
        };
    }
    let rdata = match rtype {
        Type::A => {
            let t = f.next("an IPv4 address")?;
            RData::A(
                t.text
                    .parse::<Ipv4Addr>()
                    .map_err(|_| expected("an IPv4 address", &t.text))?,
            )
        }
        Type::AAAA => {
            let t = f.next("an IPv6 address")?;
            RData::Aaaa(
                t.text
                    .parse::<Ipv6Addr>()
                    .map_err(|_| expected("an IPv6 address", &t.text))?,
            )
        }
        Type::NS => RData::Ns(f.name()?),
        Type::CNAME => RData::Cname(f.name()?),
        Type::DNAME => RData::Dname(f.name()?),
        Type::PTR => RData::Ptr(f.name()?),
        Type::SOA => RData::Soa(Soa {
            mname: f.name()?,
            rname: f.name()?,
            serial: f.number("a serial number")?,
            refresh: f.ttl("a refresh time")?,
            retry: f.ttl("a retry time")?,
            expire: f.ttl("an expire time")?,
            minimum: f.ttl("a minimum (negative) TTL")?,
        }),
        Type::MX => RData::Mx(Mx {
            preference: f.number("a preference")?,
            exchange: f.name()?,
        }),
        Type::TXT | Type::SPF => {
            let mut strings = vec![f.string()?];
            while f.peek().is_some() {
                strings.push(f.string()?);
            }
            if rtype == Type::TXT {
                RData::Txt(Txt(strings))
            } else {
                RData::Spf(Txt(strings))
            }
        }
        Type::SRV => RData::Srv(Srv {
            priority: f.number("a priority")?,
            weight: f.number("a weight")?,
            port: f.number("a port")?,
            target: f.name()?,
        }),
        Type::CAA => {
            let flags = f.number("CAA flags")?;
            let tag = f.next("a CAA tag")?;
            if tag.text.is_empty() || !tag.text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(expected("a CAA tag of letters and digits", &tag.text));
            }
            let value = unescape(&f.next("a CAA value")?.text)?;
            RData::Caa(Caa {
                flags,
                tag: tag.text.as_bytes().to_vec(),
                value,
            })
        }
        Type::SSHFP => RData::Sshfp(Sshfp {
            algorithm: f.number("an SSHFP algorithm")?,
            fp_type: f.number("a fingerprint type")?,
            fingerprint: f.rest_hex()?,
        }),
        Type::TLSA => RData::Tlsa(Tlsa {
            usage: f.number("a certificate usage")?,
            selector: f.number("a selector")?,
            matching: f.number("a matching type")?,
            data: f.rest_hex()?,
        }),
        Type::DS => RData::Ds(Ds {
            key_tag: f.number("a key tag")?,
            algorithm: f.number("an algorithm number")?,
            digest_type: f.number("a digest type")?,
            digest: f.rest_hex()?,
        }),
        Type::DNSKEY => RData::Dnskey(Dnskey {
            flags: f.number("DNSKEY flags")?,
            protocol: f.number("a protocol number")?,
            algorithm: f.number("an algorithm number")?,
            public_key: f.rest_base64()?,
        }),
        Type::RRSIG => {
            let t = f.next("a type covered")?;
            let type_covered = Type::from_mnemonic(&t.text)
                .ok_or_else(|| ErrorKind::UnknownType(t.text.clone()))?;
            let algorithm = f.number("an algorithm number")?;
            let labels = f.number("a label count")?;
            let original_ttl = f.ttl("an original TTL")?;
            let mut time = |what| -> Result<u32, ErrorKind> {
                let t = f.next(what)?;
                parse_timestamp(&t.text)
                    .or_else(|| t.text.parse().ok())
                    .ok_or_else(|| expected(what, &t.text))
            };
            let expiration = time("an expiration time")?;
            let inception = time("an inception time")?;
            let key_tag = f.number("a key tag")?;
            let signer = f.name()?;
            RData::Rrsig(Rrsig {
                type_covered,
                algorithm,
                labels,
                original_ttl,
                expiration,
                inception,
                key_tag,
                signer,
                signature: f.rest_base64()?,
            })
        }
        Type::NSEC => {
            let next = f.name()?;
            let mut types = Vec::new();
            while let Some(t) = f.peek() {
                f.next("a type")?;
                types.push(
                    Type::from_mnemonic(&t.text)
                        .ok_or_else(|| ErrorKind::UnknownType(t.text.clone()))?,
                );
            }
            RData::Nsec(Nsec {
                next,
                types: TypeBitmap::new(types),
            })
        }
        Type::NSEC3 | Type::NSEC3PARAM => {
            let hash_algorithm = f.number("a hash algorithm")?;
            let flags = f.number("NSEC3 flags")?;
            let iterations = f.number("an iteration count")?;
            let t = f.next("a salt (hex, or - for none)")?;
            let salt = if t.text == "-" {
                Vec::new()
            } else {
                HEXLOWER_PERMISSIVE
                    .decode(t.text.as_bytes())
                    .map_err(|_| expected("a salt (hex, or - for none)", &t.text))?
            };
            if salt.len() > 255 {
                return Err(expected("a salt of at most 255 bytes", &t.text));
            }
            if rtype == Type::NSEC3PARAM {
                RData::Nsec3Param(Nsec3Param {
                    hash_algorithm,
                    flags,
                    iterations,
                    salt,
                })
            } else {
                let t = f.next("a hashed owner name (base32hex)")?;
                let next_hashed = BASE32HEX_NOPAD
                    .decode(t.text.to_ascii_uppercase().as_bytes())
                    .ok()
                    .filter(|h| !h.is_empty() && h.len() <= 255)
                    .ok_or_else(|| expected("a hashed owner name (base32hex)", &t.text))?;
                let mut types = Vec::new();
                while let Some(t) = f.peek() {
                    f.next("a type")?;
                    types.push(
                        Type::from_mnemonic(&t.text)
                            .ok_or_else(|| ErrorKind::UnknownType(t.text.clone()))?,
                    );
                }
                RData::Nsec3(Nsec3 {
                    hash_algorithm,
                    flags,
                    iterations,
                    salt,
                    next_hashed,
                    types: TypeBitmap::new(types),
                })
            }
        }
        Type::SVCB | Type::HTTPS => {
            let svcb = parse_svcb(&mut f)?;
            if rtype == Type::SVCB {
                RData::Svcb(svcb)
            } else {
                RData::Https(svcb)
            }
        }
        Type::LOC => RData::Loc(parse_loc(&mut f)?),
        _ => return Err(ErrorKind::NoPresentationForm(rtype)),
    };
    f.done()?;
    Ok(rdata)
}

/// Splits a value at commas not escaped by a backslash; escapes are kept.
fn split_commas(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b',' => {
                parts.push(&s[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    parts.push(&s[start.min(s.len())..]);
    parts
}

fn parse_svcb(f: &mut Fields<'_>) -> Result<Svcb, ErrorKind> {
    let priority = f.number("an SVCB priority")?;
    let target = f.name()?;
    let mut params: Vec<SvcParam> = Vec::new();
    while let Some(t) = f.peek() {
        f.next("an SVCB parameter")?;
        let (k, v) = match t.text.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (t.text.as_str(), None),
        };
        let key = SvcParamKey::from_name(k).ok_or_else(|| expected("an SVCB parameter key", k))?;
        let bad = |what| expected(what, v.unwrap_or(""));
        let value = match (key, v) {
            // `keyNNNNN` is the generic form for any key, known ones included.
            (_, v) if k.starts_with("key") => unescape(v.unwrap_or(""))?,
            (SvcParamKey::NO_DEFAULT_ALPN, None) => Vec::new(),
            (SvcParamKey::MANDATORY, Some(v)) => {
                let mut out = Vec::new();
                for k in split_commas(v) {
                    out.extend_from_slice(
                        &SvcParamKey::from_name(k)
                            .ok_or_else(|| bad("a list of SVCB keys"))?
                            .0
                            .to_be_bytes(),
                    );
                }
                out
            }
            (SvcParamKey::ALPN, Some(v)) => {
                let mut out = Vec::new();
                for id in split_commas(v) {
                    let id = unescape(id)?;
                    if id.is_empty() || id.len() > 255 {
                        return Err(bad("a list of ALPN ids"));
                    }
                    out.push(id.len() as u8);
                    out.extend_from_slice(&id);
                }
                out
            }
            (SvcParamKey::PORT, Some(v)) => v
                .parse::<u16>()
                .map_err(|_| bad("a port number"))?
                .to_be_bytes()
                .to_vec(),
            (SvcParamKey::IPV4HINT, Some(v)) => {
                let mut out = Vec::new();
                for a in split_commas(v) {
                    out.extend_from_slice(
                        &a.parse::<Ipv4Addr>()
                            .map_err(|_| bad("a list of IPv4 addresses"))?
                            .octets(),
                    );
                }
                out
            }
            (SvcParamKey::IPV6HINT, Some(v)) => {
                let mut out = Vec::new();
                for a in split_commas(v) {
                    out.extend_from_slice(
                        &a.parse::<Ipv6Addr>()
                            .map_err(|_| bad("a list of IPv6 addresses"))?
                            .octets(),
                    );
                }
                out
            }
            (SvcParamKey::ECH, Some(v)) => BASE64
                .decode(v.as_bytes())
                .map_err(|_| bad("base64 ECH configuration"))?,
            _ => return Err(bad("a value suiting the SVCB key")),
        };
        if params.iter().any(|p| p.key == key) {
            return Err(ErrorKind::DuplicateSvcParam(k.into()));
        }
        params.push(SvcParam { key, value });
    }
    params.sort_by_key(|p| p.key);
    Ok(Svcb {
        priority,
        target,
        params,
    })
}

/// Reads metres (`12`, `-3.5m`) as centimetres.
fn parse_metres(s: &str) -> Option<i64> {
    let s = s.strip_suffix(['m', 'M']).unwrap_or(s);
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cm = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(format!("{frac:0<2}").parse::<i64>().ok()?)?;
    Some(if neg { -cm } else { cm })
}

fn parse_loc(f: &mut Fields<'_>) -> Result<Loc, ErrorKind> {
    let mut angle = |pos: char, neg: char, max_deg: u32| -> Result<u32, ErrorKind> {
        let mut parts = [0u32; 3];
        let mut n = 0;
        loop {
            let t = f.next("a LOC coordinate")?;
            let s = t.text.as_str();
            if s.eq_ignore_ascii_case(&pos.to_string()) || s.eq_ignore_ascii_case(&neg.to_string())
            {
                if n == 0 {
                    return Err(expected("degrees", s));
                }
                let v = parts[0] as u64 * 3_600_000 + parts[1] as u64 * 60_000 + parts[2] as u64;
                if parts[0] > max_deg
                    || parts[1] > 59
                    || parts[2] >= 60_000
                    || v > max_deg as u64 * 3_600_000
                {
                    return Err(expected("a coordinate in range", s));
                }
                let v = v as u32;
                return Ok(if s.eq_ignore_ascii_case(&pos.to_string()) {
                    LOC_ORIGIN + v
                } else {
                    LOC_ORIGIN - v
                });
            }
            if n == 3 {
                return Err(expected("a hemisphere letter", s));
            }
            parts[n] = if n == 2 {
                let (w, fr) = s.split_once('.').unwrap_or((s, ""));
                if fr.len() > 3 || !fr.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(expected("seconds", s));
                }
                let w: u32 = w.parse().map_err(|_| expected("seconds", s))?;
                let millis: u32 = format!("{fr:0<3}")
                    .parse()
                    .map_err(|_| expected("seconds", s))?;
                w.checked_mul(1000)
                    .and_then(|ms| ms.checked_add(millis))
                    .ok_or_else(|| expected("seconds", s))?
            } else {
                s.parse().map_err(|_| expected("degrees or minutes", s))?
            };
            n += 1;
        }
    };
    let latitude = angle('N', 'S', 90)?;
    let longitude = angle('E', 'W', 180)?;
    let t = f.next("an altitude")?;
    let alt = parse_metres(&t.text).filter(|&cm| {
        (-(LOC_ALT_BASE as i64)..=u32::MAX as i64 - LOC_ALT_BASE as i64).contains(&cm)
    });
    let altitude = (alt.ok_or_else(|| expected("an altitude in metres", &t.text))?
        + LOC_ALT_BASE as i64) as u32;
    let mut prec = [0x12u8, 0x16, 0x13];
    for p in prec.iter_mut() {
        let Some(t) = f.peek() else { break };
        f.next("a precision")?;
        let cm = parse_metres(&t.text).filter(|&c| c >= 0);
        *p = cm
            .and_then(|c| precision_from_cm(c as u64))
            .ok_or_else(|| expected("a size in metres (one digit and zeros)", &t.text))?;
    }
    Ok(Loc {
        version: 0,
        size: prec[0],
        horiz_pre: prec[1],
        vert_pre: prec[2],
        latitude,
        longitude,
        altitude,
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::zone::lexer::entries;

    fn rd(t: Type, text: &str) -> Result<RData, ErrorKind> {
        let e = entries(text).unwrap();
        parse_rdata(t, &e[0].tokens, &"example.com.".parse().unwrap())
    }

    #[test]
    fn test_types() {
        assert_eq!(
            rd(Type::MX, "10 mail").unwrap().to_string(),
            "10 mail.example.com."
        );
        assert_eq!(
            rd(Type::TXT, "\"v=spf1 -all\" x\\032y")
                .unwrap()
                .to_string(),
            "\"v=spf1 -all\" \"x y\""
        );
        assert_eq!(
            rd(Type::A, "\\# 4 C0000201").unwrap().to_string(),
            "192.0.2.1"
        );
        assert_eq!(
            rd(Type(65280), "\\# 2 ab CD").unwrap().to_string(),
            "\\# 2 ABCD"
        );
        assert_eq!(
            rd(Type(65280), "\\# 3 abcd"),
            Err(ErrorKind::GenericLength {
                declared: 3,
                actual: 2
            })
        );
        assert_eq!(
            rd(Type::CAA, "0 issue \"ca.example.net\"")
                .unwrap()
                .to_string(),
            "0 issue \"ca.example.net\""
        );
        let h = rd(
            Type::HTTPS,
            "1 . port=8443 alpn=h3,h2 ipv4hint=192.0.2.1,192.0.2.2 key65000=\"a\\\\b\"",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "1 . alpn=h3,h2 port=8443 ipv4hint=192.0.2.1,192.0.2.2 key65000=\"a\\\\b\""
        );
        let loc = rd(Type::LOC, "42 21 54 N 71 06 18 W -24m 30m").unwrap();
        assert_eq!(
            loc.to_string(),
            "42 21 54.000 N 71 6 18.000 W -24m 30m 10000m 10m"
        );
        let sig = "A 8 3 3600 20240101000000 20231201000000 12345 example.com. AQID";
        assert_eq!(rd(Type::RRSIG, sig).unwrap().to_string(), sig);
        assert_eq!(
            rd(Type::NSEC, "b.example.com. A MX RRSIG NSEC TYPE1234")
                .unwrap()
                .to_string(),
            "b.example.com. A MX RRSIG NSEC TYPE1234"
        );
        assert!(matches!(
            rd(Type::A, "192.0.2.1 x"),
            Err(ErrorKind::TrailingData(_))
        ));
        assert!(matches!(
            rd(Type::SOA, "ns hm 1 2 3"),
            Err(ErrorKind::Expected { .. })
        ));
        assert_eq!(parse_ttl("1h30m"), Some(5400));
        assert_eq!(parse_ttl("1x"), None);
        // Overflowing numbers are errors, not panics.
        assert!(rd(Type::LOC, "1 2 4294967.5 N 1 E 0").is_err());
        assert!(rd(Type::LOC, "1 N 1 E 92233720368547758.99").is_err());
    }
}
