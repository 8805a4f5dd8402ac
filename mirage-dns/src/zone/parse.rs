//! The master-file parser (RFC 1035 §5): directives, owner/TTL/class
//! inheritance and record entries. Pure: `$INCLUDE` goes through a resolver
//! closure the caller gives.

use super::error::{ErrorKind, IncludeError, ZoneError};
use super::lexer::{Entry, entries};
use super::rdata::{parse_name, parse_rdata, parse_ttl};
use crate::wire::{Class, Name, Record, Type};

/// How deep `$INCLUDE`s may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Reads the text of a file named by `$INCLUDE`.
pub type IncludeResolver<'r> = dyn FnMut(&str) -> Result<String, IncludeError> + 'r;

/// What an entry inherits from the ones before it.
#[derive(Clone)]
struct State {
    origin: Name,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
}

/// Parses master-file `text` (named `file` in errors) with `origin` as the
/// initial `$ORIGIN`. `$INCLUDE` is refused; see [`parse_with_includes`].
pub fn parse_str(text: &str, file: &str, origin: &Name) -> Result<Vec<Record>, ZoneError> {
    parse_with_includes(text, file, origin, &mut |_| Err(IncludeError::NotAllowed))
}

/// Parses master-file `text`, reading `$INCLUDE`d files through `resolve`.
pub fn parse_with_includes(
    text: &str,
    file: &str,
    origin: &Name,
    resolve: &mut IncludeResolver<'_>,
) -> Result<Vec<Record>, ZoneError> {
    let mut out = Vec::new();
    let mut state = State {
        origin: origin.clone(),
        default_ttl: None,
        last_ttl: None,
        last_owner: None,
    };
    parse_file(text, file, &mut state, resolve, 0, &mut out)?;
    Ok(out)
}

fn parse_file(
    text: &str,
    file: &str,
    state: &mut State,
    resolve: &mut IncludeResolver<'_>,
    depth: usize,
    out: &mut Vec<Record>,
) -> Result<(), ZoneError> {
    let err = |line, kind| ZoneError {
        file: file.into(),
        line,
        kind,
    };
    let list = entries(text).map_err(|(line, kind)| err(line, kind))?;
    for entry in list {
        let first = &entry.tokens[0];
        if !entry.blank_owner && !first.quoted && first.text.starts_with('$') {
            directive(&entry, file, state, resolve, depth, out)?;
        } else {
            out.push(record(&entry, state).map_err(|kind| err(entry.line, kind))?);
        }
    }
    Ok(())
}

fn directive(
    entry: &Entry,
    file: &str,
    state: &mut State,
    resolve: &mut IncludeResolver<'_>,
    depth: usize,
    out: &mut Vec<Record>,
) -> Result<(), ZoneError> {
    let err = |kind| ZoneError {
        file: file.into(),
        line: entry.line,
        kind,
    };
    let args = &entry.tokens[1..];
    let arg = |i: usize, what: &'static str| {
        args.get(i).map(|t| t.text.as_str()).ok_or_else(|| {
            err(ErrorKind::Expected {
                expected: what,
                found: String::new(),
            })
        })
    };
    let max_args = |n: usize| match args.get(n) {
        Some(t) => Err(err(ErrorKind::TrailingData(t.text.clone()))),
        None => Ok(()),
    };
    let name = entry.tokens[0].text.to_ascii_uppercase();
    match name.as_str() {
        "$ORIGIN" => {
            let o = arg(0, "an origin name")?;
            max_args(1)?;
            state.origin = parse_name(o, &state.origin).map_err(err)?;
        }
        "$TTL" => {
            let t = arg(0, "a TTL")?;
            max_args(1)?;
            state.default_ttl = Some(parse_ttl(t).ok_or_else(|| {
                err(ErrorKind::Expected {
                    expected: "a TTL",
                    found: t.into(),
                })
            })?);
        }
        "$INCLUDE" => {
            let target = arg(0, "a file name")?;
            max_args(2)?;
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(err(ErrorKind::IncludeDepth(MAX_INCLUDE_DEPTH)));
            }
            let mut inner = state.clone();
            if let Some(o) = args.get(1) {
                inner.origin = parse_name(&o.text, &state.origin).map_err(err)?;
            }
            let text = resolve(target).map_err(|reason| {
                err(ErrorKind::Include {
                    file: target.into(),
                    reason,
                })
            })?;
            parse_file(&text, target, &mut inner, resolve, depth + 1, out)?;
        }
        _ => {
            return Err(err(ErrorKind::UnknownDirective(
                entry.tokens[0].text.clone(),
            )));
        }
    }
    Ok(())
}

fn record(entry: &Entry, state: &mut State) -> Result<Record, ErrorKind> {
    let mut tokens = &entry.tokens[..];
    let owner = if entry.blank_owner {
        state.last_owner.clone().ok_or(ErrorKind::MissingOwner)?
    } else {
        let t = &tokens[0];
        tokens = &tokens[1..];
        parse_name(&t.text, &state.origin)?
    };
    let mut ttl = None;
    let mut class = None;
    let rtype = loop {
        let t = tokens.first().ok_or_else(|| ErrorKind::Expected {
            expected: "a TTL, class or type",
            found: String::new(),
        })?;
        tokens = &tokens[1..];
        if ttl.is_none() && t.text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            ttl = Some(parse_ttl(&t.text).ok_or_else(|| ErrorKind::Expected {
                expected: "a TTL",
                found: t.text.clone(),
            })?);
        } else if let Some(c) = class
            .is_none()
            .then(|| Class::from_mnemonic(&t.text))
            .flatten()
        {
            class = Some(c);
        } else {
            break Type::from_mnemonic(&t.text)
                .ok_or_else(|| ErrorKind::UnknownType(t.text.clone()))?;
        }
    };
    if let Some(c) = class.filter(|&c| c != Class::IN) {
        return Err(ErrorKind::UnsupportedClass(c));
    }
    let ttl = ttl
        .or(state.default_ttl)
        .or(state.last_ttl)
        .ok_or(ErrorKind::MissingTtl)?;
    let data = parse_rdata(rtype, tokens, &state.origin)?;
    if data.to_wire().map_err(ErrorKind::Unencodable)?.len() > u16::MAX as usize {
        return Err(ErrorKind::Unencodable(crate::wire::EmitError::RdataTooLong));
    }
    state.last_owner = Some(owner.clone());
    state.last_ttl = Some(ttl);
    Ok(Record {
        name: owner,
        class: Class::IN,
        ttl,
        data,
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wire::RData;

    const ZONE: &str = r#"
$ORIGIN example.com.
$TTL 1h
@   IN  SOA ns1 hostmaster (
        2024010101 ; serial
        7200 3600 1209600 300 )
    NS  ns1
    NS  ns2.example.net.
ns1 600 A 192.0.2.53
www IN 300 A 192.0.2.80
        AAAA 2001:db8::80
$ORIGIN sub
host A 192.0.2.1
"#;

    #[test]
    fn test_parse_zone() {
        let origin: Name = "example.com.".parse().unwrap();
        let rs = parse_str(ZONE, "example.com.zone", &origin).unwrap();
        let lines: Vec<String> = rs.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            lines,
            [
                "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
                "example.com. 3600 IN NS ns1.example.com.",
                "example.com. 3600 IN NS ns2.example.net.",
                "ns1.example.com. 600 IN A 192.0.2.53",
                "www.example.com. 300 IN A 192.0.2.80",
                "www.example.com. 3600 IN AAAA 2001:db8::80",
                "host.sub.example.com. 3600 IN A 192.0.2.1",
            ]
        );
    }

    #[test]
    fn test_errors_name_file_and_line() {
        let origin: Name = "example.com.".parse().unwrap();
        let e = parse_str(
            "$TTL 60\n@ A 192.0.2.1\n\nbad A 300.1.1.1\n",
            "z.zone",
            &origin,
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("z.zone", 4));
        assert_eq!(
            e.to_string(),
            "z.zone:4: expected an IPv4 address, found \"300.1.1.1\""
        );
        let e = parse_str("@ A 192.0.2.1\n", "z", &origin).unwrap_err();
        assert_eq!(e.kind, ErrorKind::MissingTtl);
        let e = parse_str("  A 192.0.2.1\n", "z", &origin).unwrap_err();
        assert_eq!(e.kind, ErrorKind::MissingOwner);
        let e = parse_str("$INCLUDE other\n", "z", &origin).unwrap_err();
        assert!(matches!(
            e.kind,
            ErrorKind::Include {
                reason: IncludeError::NotAllowed,
                ..
            }
        ));
        // Record data longer than an RDLENGTH can say.
        let long = format!("$TTL 5\n@ TXT {}\n", "\"x\" ".repeat(40_000));
        let e = parse_str(&long, "z", &origin).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::Unencodable(crate::wire::EmitError::RdataTooLong)
        );
        // An empty quoted token where a TTL, class or type may stand.
        let e = parse_str("$TTL 5\n@ \"\" A 1.2.3.4\n", "z", &origin).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownType(String::new()));
        let e = parse_str("$TTL 5\n@ CH A 1.2.3.4\n", "z", &origin).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedClass(Class::CH));
    }

    #[test]
    fn test_include() {
        let origin: Name = "example.com.".parse().unwrap();
        let mut resolve = |f: &str| match f {
            "hosts" => Ok("a A 192.0.2.1\n$ORIGIN x.example.com.\nb A 192.0.2.2\n".to_string()),
            "loop" => Ok("$INCLUDE loop\n".to_string()),
            _ => Err(IncludeError::NotFound),
        };
        let rs = parse_with_includes(
            "$TTL 60\n$INCLUDE hosts sub\nc A 192.0.2.3\n",
            "z",
            &origin,
            &mut resolve,
        )
        .unwrap();
        let names: Vec<String> = rs.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(
            names,
            ["a.sub.example.com.", "b.x.example.com.", "c.example.com."]
        );
        assert!(matches!(rs[2].data, RData::A(_)));
        let e = parse_with_includes("$INCLUDE loop\n", "z", &origin, &mut resolve).unwrap_err();
        assert_eq!(e.kind, ErrorKind::IncludeDepth(MAX_INCLUDE_DEPTH));
        let e = parse_with_includes("$INCLUDE nope\n", "z", &origin, &mut resolve).unwrap_err();
        assert!(matches!(
            e.kind,
            ErrorKind::Include {
                reason: IncludeError::NotFound,
                ..
            }
        ));
    }
}
