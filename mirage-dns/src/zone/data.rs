//! A checked zone: the records of one zone, held to the rules a zone must
//! keep, in canonical order, printable back to a master file.

use std::collections::HashMap;
use std::fmt;

use super::error::CheckError;
use crate::wire::rdata::Soa;
use crate::wire::{Class, Name, RData, Record, Type};

/// The records of one zone, checked and canonically ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    origin: Name,
    records: Vec<Record>,
    soa: usize,
}

impl Zone {
    /// Checks `records` as the contents of the zone at `origin`: exactly one
    /// SOA, at the apex; NS at the apex; no CNAME beside other data (RRSIG
    /// and NSEC excepted); at most one DNAME per name; nothing outside the
    /// zone; class IN; no meta types. Records below a delegation (glue) are
    /// kept. Duplicate records are merged (RFC 2181 §5).
    pub fn new(origin: Name, mut records: Vec<Record>) -> Result<Zone, CheckError> {
        records.sort_by(|a, b| (&a.name, a.rtype()).cmp(&(&b.name, b.rtype())));
        records.dedup_by(|a, b| a.name == b.name && a.data == b.data);
        let mut types: HashMap<&Name, Vec<Type>> = HashMap::new();
        let mut soa = None;
        for (i, r) in records.iter().enumerate() {
            if !r.name.is_subdomain_of(&origin) {
                return Err(CheckError::OutOfZone(r.name.clone(), origin));
            }
            if r.class != Class::IN {
                return Err(CheckError::WrongClass(r.name.clone()));
            }
            if r.rtype().is_meta() {
                return Err(CheckError::MetaType(r.name.clone(), r.rtype()));
            }
            if r.rtype() == Type::SOA {
                if r.name != origin {
                    return Err(CheckError::SoaNotAtApex(r.name.clone()));
                }
                if soa.replace(i).is_some() {
                    return Err(CheckError::MultipleSoa(origin));
                }
            }
            types.entry(&r.name).or_default().push(r.rtype());
        }
        let soa = soa.ok_or_else(|| CheckError::NoSoa(origin.clone()))?;
        if !types.get(&origin).is_some_and(|t| t.contains(&Type::NS)) {
            return Err(CheckError::NoApexNs(origin));
        }
        for (name, ts) in &types {
            let count = |t: Type| ts.iter().filter(|&&x| x == t).count();
            if count(Type::CNAME) > 0
                && (count(Type::CNAME) > 1
                    || ts
                        .iter()
                        .any(|&t| !matches!(t, Type::CNAME | Type::RRSIG | Type::NSEC)))
            {
                return Err(CheckError::CnameAndOtherData((*name).clone()));
            }
            if count(Type::DNAME) > 1 {
                return Err(CheckError::MultipleDname((*name).clone()));
            }
        }
        Ok(Zone {
            origin,
            records,
            soa,
        })
    }

    /// The apex name.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// All records in canonical order of owner, then type.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The SOA record.
    pub fn soa_record(&self) -> &Record {
        &self.records[self.soa]
    }

    /// The SOA data.
    pub fn soa(&self) -> &Soa {
        match &self.records[self.soa].data {
            RData::Soa(s) => s,
            _ => unreachable!("the SOA index always points at an SOA record"),
        }
    }
}

impl fmt::Display for Zone {
    /// Prints the zone as a master file: `$ORIGIN`, the SOA, then the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ORIGIN {}", self.origin)?;
        writeln!(f, "{}", self.soa_record())?;
        for (i, r) in self.records.iter().enumerate() {
            if i != self.soa {
                writeln!(f, "{r}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::zone::parse_str;

    fn zone(text: &str) -> Result<Zone, CheckError> {
        let origin: Name = "example.com.".parse().unwrap();
        Zone::new(
            origin.clone(),
            parse_str(&format!("$TTL 60\n{text}"), "z", &origin).unwrap(),
        )
    }

    const HEAD: &str = "@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

    #[test]
    fn test_checks() {
        assert!(zone(HEAD).is_ok());
        assert!(matches!(zone("@ NS ns\n"), Err(CheckError::NoSoa(_))));
        assert!(matches!(
            zone("@ SOA ns hm 1 2 3 4 5\n"),
            Err(CheckError::NoApexNs(_))
        ));
        assert!(matches!(
            zone(&format!("{HEAD}@ SOA ns hm 2 2 3 4 5\n")),
            Err(CheckError::MultipleSoa(_))
        ));
        assert!(matches!(
            zone(&format!("{HEAD}x SOA ns hm 2 2 3 4 5\n")),
            Err(CheckError::SoaNotAtApex(_))
        ));
        assert!(matches!(
            zone(&format!("{HEAD}w CNAME x\nw A 192.0.2.2\n")),
            Err(CheckError::CnameAndOtherData(_))
        ));
        assert!(matches!(
            zone(&format!("{HEAD}w CNAME x\nw CNAME y\n")),
            Err(CheckError::CnameAndOtherData(_))
        ));
        assert!(matches!(
            zone(&format!("{HEAD}other.net. A 192.0.2.2\n")),
            Err(CheckError::OutOfZone(..))
        ));
        let z = zone(&format!(
            "{HEAD}sub NS ns.sub\nns.sub A 192.0.2.9\nns A 192.0.2.1\n"
        ))
        .unwrap();
        assert_eq!(z.records().len(), 5, "glue kept, duplicate merged");
    }

    #[test]
    fn test_print_round_trip() {
        let z = zone(&format!("{HEAD}www TXT \"hello world\"\n*.w MX 10 mail\n")).unwrap();
        let text = z.to_string();
        assert!(text.starts_with("$ORIGIN example.com.\nexample.com. 60 IN SOA"));
        let again = Zone::new(
            z.origin().clone(),
            parse_str(&text, "again", z.origin()).unwrap(),
        )
        .unwrap();
        assert_eq!(again, z);
    }
}
