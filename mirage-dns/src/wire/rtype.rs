//! Record types and classes: 16-bit codes with their mnemonics.

use core::fmt;

/// A resource record type (RFC 1035 §3.2.2 and later registries).
///
/// Any 16-bit value is a valid type; the constants name the ones this crate
/// understands. Unknown types print as `TYPEnnn` (RFC 3597 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Type(pub u16);

macro_rules! types {
    ($($name:ident = $code:expr, $text:expr;)*) => {
        impl Type {
            $(#[doc = concat!("`", $text, "` record type.")] pub const $name: Type = Type($code);)*

            /// The mnemonic of a known type.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 { $($code => Some($text),)* _ => None }
            }

            /// Reads a mnemonic (case-insensitive) or `TYPEnnn`.
            pub fn from_mnemonic(s: &str) -> Option<Type> {
                $(if s.eq_ignore_ascii_case($text) { return Some(Type($code)); })*
                let digits = s.get(..4).filter(|p| p.eq_ignore_ascii_case("TYPE")).map(|_| &s[4..])?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) { return None; }
                digits.parse().ok().map(Type)
            }
        }
    };
}

types! {
    A = 1, "A";
    NS = 2, "NS";
    CNAME = 5, "CNAME";
    SOA = 6, "SOA";
    NULL = 10, "NULL";
    PTR = 12, "PTR";
    HINFO = 13, "HINFO";
    MX = 15, "MX";
    TXT = 16, "TXT";
    AAAA = 28, "AAAA";
    LOC = 29, "LOC";
    SRV = 33, "SRV";
    DNAME = 39, "DNAME";
    OPT = 41, "OPT";
    DS = 43, "DS";
    SSHFP = 44, "SSHFP";
    RRSIG = 46, "RRSIG";
    NSEC = 47, "NSEC";
    DNSKEY = 48, "DNSKEY";
    NSEC3 = 50, "NSEC3";
    NSEC3PARAM = 51, "NSEC3PARAM";
    TLSA = 52, "TLSA";
    SVCB = 64, "SVCB";
    HTTPS = 65, "HTTPS";
    SPF = 99, "SPF";
    IXFR = 251, "IXFR";
    AXFR = 252, "AXFR";
    ANY = 255, "ANY";
    CAA = 257, "CAA";
}

impl Type {
    /// Whether the type is a meta type or query type (RFC 6895 §3.1): it never appears in a zone.
    pub fn is_meta(self) -> bool {
        (128..=255).contains(&self.0) || self == Type::OPT
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

/// A record class (RFC 1035 §3.2.4). Only `IN` matters in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Class(pub u16);

impl Class {
    /// The Internet class.
    pub const IN: Class = Class(1);
    /// The Chaos class.
    pub const CH: Class = Class(3);
    /// The Hesiod class.
    pub const HS: Class = Class(4);
    /// NONE (RFC 2136), used by dynamic update.
    pub const NONE: Class = Class(254);
    /// The ANY query class.
    pub const ANY: Class = Class(255);

    /// Reads `IN`, `CH`, `HS`, `NONE`, `ANY` or `CLASSnnn` (case-insensitive).
    pub fn from_mnemonic(s: &str) -> Option<Class> {
        for (name, class) in [
            ("IN", Class::IN),
            ("CH", Class::CH),
            ("HS", Class::HS),
            ("NONE", Class::NONE),
            ("ANY", Class::ANY),
        ] {
            if s.eq_ignore_ascii_case(name) {
                return Some(class);
            }
        }
        let digits = s
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("CLASS"))
            .map(|_| &s[5..])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Class)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Class::IN => f.write_str("IN"),
            Class::CH => f.write_str("CH"),
            Class::HS => f.write_str("HS"),
            Class::NONE => f.write_str("NONE"),
            Class::ANY => f.write_str("ANY"),
            Class(c) => write!(f, "CLASS{c}"),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_mnemonics() {
        assert_eq!(Type::from_mnemonic("aaaa"), Some(Type::AAAA));
        assert_eq!(Type::from_mnemonic("TYPE65280"), Some(Type(65280)));
        assert_eq!(Type::from_mnemonic("TYPE"), None);
        assert_eq!(Type::from_mnemonic("TYPE70000"), None);
        assert_eq!(Type(65280).to_string(), "TYPE65280");
        assert_eq!(Class::from_mnemonic("class3"), Some(Class::CH));
        assert_eq!(Class(77).to_string(), "CLASS77");
    }
}
