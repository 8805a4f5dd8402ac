//! TSIG keys and where they come from: BIND `key` clauses or `dig -y` triples.

use std::collections::HashMap;
use std::sync::Arc;

use data_encoding::BASE64;

use crate::wire::{Name, NameError};

/// A TSIG MAC algorithm (RFC 8945 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA1, for interoperation with old peers.
    HmacSha1,
    /// HMAC-SHA256, the one every implementation must support.
    HmacSha256,
    /// HMAC-SHA384.
    HmacSha384,
    /// HMAC-SHA512.
    HmacSha512,
}

impl Algorithm {
    /// The algorithm's name as written in configuration and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// Reads an algorithm name (case-insensitive, an optional final dot).
    pub fn from_name(s: &str) -> Option<Algorithm> {
        let s = s.strip_suffix('.').unwrap_or(s);
        [
            Algorithm::HmacSha1,
            Algorithm::HmacSha256,
            Algorithm::HmacSha384,
            Algorithm::HmacSha512,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// The algorithm's name as a domain name, for the TSIG record.
    pub fn domain_name(self) -> Name {
        Name::from_wire(self.wire()).expect("algorithm names are valid")
    }

    /// The algorithm name in (lowercase) wire form.
    pub fn wire(self) -> &'static [u8] {
        match self {
            Algorithm::HmacSha1 => b"\x09hmac-sha1\x00",
            Algorithm::HmacSha256 => b"\x0bhmac-sha256\x00",
            Algorithm::HmacSha384 => b"\x0bhmac-sha384\x00",
            Algorithm::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// Length of a full MAC.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// A named shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// The key's name, which travels as the TSIG record's owner.
    pub name: Name,
    /// The MAC algorithm.
    pub algorithm: Algorithm,
    /// The secret.
    pub secret: Vec<u8>,
}

impl core::fmt::Debug for Key {
    /// Prints the name and algorithm, never the secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Returned when key configuration cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm is not one we support.
    #[error("unknown TSIG algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// The key name is not a domain name.
    #[error("bad key name {name:?}: {source}")]
    BadName {
        /// The text.
        name: String,
        /// Why.
        source: NameError,
    },
    /// The secret is not base64.
    #[error("the secret of key {0} is not base64")]
    BadSecret(String),
    /// A `key` clause lacks its algorithm or secret.
    #[error("key {0} lacks an algorithm or a secret")]
    Incomplete(String),
    /// The text does not follow the expected syntax.
    #[error("syntax error near byte {0}")]
    Syntax(usize),
    /// The same key name appears twice.
    #[error("key {0} is defined twice")]
    Duplicate(String),
}

/// The keys a server knows, by name.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: HashMap<Name, Arc<Key>>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a key; a key of the same name is an error.
    pub fn insert(&mut self, key: Key) -> Result<(), KeyError> {
        if self.keys.contains_key(&key.name) {
            return Err(KeyError::Duplicate(key.name.to_string()));
        }
        self.keys.insert(key.name.clone(), Arc::new(key));
        Ok(())
    }

    /// The key called `name`.
    pub fn get(&self, name: &Name) -> Option<&Arc<Key>> {
        self.keys.get(name)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads the BIND `key` clause subset: any number of
    /// `key "name" { algorithm hmac-sha256; secret "base64"; };`, with `#`,
    /// `//` and `/* */` comments. Other clauses are a syntax error.
    pub fn parse_bind(text: &str) -> Result<Keyring, KeyError> {
        let tokens = tokenize(text)?;
        let mut ring = Keyring::new();
        let mut i = 0;
        let tok = |i: usize| tokens.get(i).map(|(t, _)| t.as_str());
        let at = |i: usize| tokens.get(i).map_or(text.len(), |(_, p)| *p);
        while i < tokens.len() {
            if tok(i) != Some("key") || tok(i + 2) != Some("{") {
                return Err(KeyError::Syntax(at(i)));
            }
            let name = tokens[i + 1].0.clone();
            i += 3;
            let (mut algorithm, mut secret) = (None, None);
            while tok(i) != Some("}") {
                let (Some(field), Some(value), Some(";")) = (tok(i), tok(i + 1), tok(i + 2)) else {
                    return Err(KeyError::Syntax(at(i)));
                };
                match field {
                    "algorithm" => algorithm = Some(value.to_string()),
                    "secret" => secret = Some(value.to_string()),
                    _ => return Err(KeyError::Syntax(at(i))),
                }
                i += 3;
            }
            if tok(i + 1) != Some(";") {
                return Err(KeyError::Syntax(at(i + 1)));
            }
            i += 2;
            let (Some(a), Some(s)) = (algorithm, secret) else {
                return Err(KeyError::Incomplete(name));
            };
            ring.insert(Key::from_parts(&a, &name, &s)?)?;
        }
        Ok(ring)
    }
}

impl Key {
    /// Builds a key from its algorithm name, key name and base64 secret.
    pub fn from_parts(algorithm: &str, name: &str, secret: &str) -> Result<Key, KeyError> {
        let algorithm = Algorithm::from_name(algorithm)
            .ok_or_else(|| KeyError::UnknownAlgorithm(algorithm.to_string()))?;
        let name: Name = name.parse().map_err(|source| KeyError::BadName {
            name: name.to_string(),
            source,
        })?;
        let secret = BASE64
            .decode(secret.as_bytes())
            .map_err(|_| KeyError::BadSecret(name.to_string()))?;
        Ok(Key {
            name,
            algorithm,
            secret,
        })
    }

    /// Reads `[algorithm:]name:secret` as `dig -y` and `nsupdate -y` take it
    /// (the algorithm defaults to hmac-sha256).
    pub fn parse_triple(s: &str) -> Result<Key, KeyError> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts[..] {
            [a, n, k] => Key::from_parts(a, n, k),
            [n, k] => Key::from_parts("hmac-sha256", n, k),
            _ => Err(KeyError::Syntax(0)),
        }
    }
}

/// Splits BIND configuration into words, quoted strings and `{ } ;`,
/// each with its byte offset.
fn tokenize(text: &str) -> Result<Vec<(String, usize)>, KeyError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' || b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").ok_or(KeyError::Syntax(i))?;
            i += end + 4;
        } else if matches!(c, b'{' | b'}' | b';') {
            out.push(((c as char).to_string(), i));
            i += 1;
        } else if c == b'"' {
            let end = text[i + 1..].find('"').ok_or(KeyError::Syntax(i))?;
            out.push((text[i + 1..i + 1 + end].to_string(), i));
            i += end + 2;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !b"{};\"".contains(&b[i]) {
                i += 1;
            }
            out.push((text[start..i].to_string(), start));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_bind() {
        let ring = Keyring::parse_bind(
            "# keys\nkey \"transfer.\" {\n  algorithm hmac-sha512;\n  secret \"c2VjcmV0\";\n};\n\
             /* two */ key update { algorithm HMAC-SHA1; secret \"YWJj\"; }; // end\n",
        )
        .unwrap();
        assert_eq!(ring.len(), 2);
        let k = ring.get(&"transfer".parse().unwrap()).unwrap();
        assert_eq!(
            (k.algorithm, &k.secret[..]),
            (Algorithm::HmacSha512, &b"secret"[..])
        );
        assert_eq!(
            ring.get(&"UPDATE.".parse().unwrap()).unwrap().algorithm,
            Algorithm::HmacSha1
        );
        assert!(!format!("{k:?}").contains("c2Vj"));
    }

    #[test]
    fn test_bad_config() {
        assert!(matches!(
            Keyring::parse_bind("key k { algorithm md5; secret \"YQ==\"; };"),
            Err(KeyError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            Keyring::parse_bind("key k { secret \"YQ==\"; };"),
            Err(KeyError::Incomplete(_))
        ));
        assert!(matches!(
            Keyring::parse_bind("key k { algorithm hmac-sha1; secret \"!!\"; };"),
            Err(KeyError::BadSecret(_))
        ));
        assert!(matches!(
            Keyring::parse_bind("options { };"),
            Err(KeyError::Syntax(0))
        ));
        assert!(matches!(
            Keyring::parse_bind("key k { algorithm hmac-sha1; secret \"YQ==\"; "),
            Err(KeyError::Syntax(_))
        ));
        assert!(matches!(
            Keyring::parse_bind(
                "key k { algorithm hmac-sha1; secret \"YQ==\"; }; key k. { algorithm hmac-sha1; secret \"YQ==\"; };"
            ),
            Err(KeyError::Duplicate(_))
        ));
    }

    #[test]
    fn test_parse_triple() {
        let k = Key::parse_triple("hmac-sha384:k.example:YWJj").unwrap();
        assert_eq!(
            (k.algorithm, k.name.to_string(), &k.secret[..]),
            (Algorithm::HmacSha384, "k.example.".into(), &b"abc"[..])
        );
        assert_eq!(
            Key::parse_triple("k:YWJj").unwrap().algorithm,
            Algorithm::HmacSha256
        );
        assert!(Key::parse_triple("a:b:c:d").is_err());
    }

    #[test]
    fn test_algorithm_names() {
        for a in [
            Algorithm::HmacSha1,
            Algorithm::HmacSha256,
            Algorithm::HmacSha384,
            Algorithm::HmacSha512,
        ] {
            assert_eq!(Algorithm::from_name(&a.domain_name().to_string()), Some(a));
        }
    }
}
