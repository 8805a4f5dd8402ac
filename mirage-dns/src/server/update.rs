//! Dynamic update (RFC 2136 §3.2–3.4): prerequisites checked and the
//! update applied to a copy of the zone, as a pure function, so a refused
//! update changes nothing.

use super::history::serial_gt;
use crate::wire::{Class, Message, Name, RData, Rcode, Record, Type};
use crate::zone::Zone;

fn is_empty(r: &Record) -> bool {
    matches!(&r.data, RData::Unknown { data, .. } if data.is_empty())
}

/// Checks the prerequisite section (RFC 2136 §3.2).
fn prerequisites(zone: &Zone, prereqs: &[Record]) -> Result<(), Rcode> {
    let origin = zone.origin();
    fn at<'a>(zone: &'a Zone, name: &'a Name) -> impl Iterator<Item = &'a Record> {
        zone.records().iter().filter(move |r| r.name == *name)
    }
    let mut value_dependent: Vec<&Record> = Vec::new();
    for r in prereqs {
        if r.ttl != 0 {
            return Err(Rcode::FORMERR);
        }
        if !r.name.is_subdomain_of(origin) {
            return Err(Rcode::NOTZONE);
        }
        let t = r.rtype();
        match r.class {
            Class::ANY | Class::NONE if !is_empty(r) => return Err(Rcode::FORMERR),
            Class::ANY if t == Type::ANY => {
                if at(zone, &r.name).next().is_none() {
                    return Err(Rcode::NXDOMAIN);
                }
            }
            Class::ANY => {
                if !at(zone, &r.name).any(|x| x.rtype() == t) {
                    return Err(Rcode::NXRRSET);
                }
            }
            Class::NONE if t == Type::ANY => {
                if at(zone, &r.name).next().is_some() {
                    return Err(Rcode::YXDOMAIN);
                }
            }
            Class::NONE => {
                if at(zone, &r.name).any(|x| x.rtype() == t) {
                    return Err(Rcode::YXRRSET);
                }
            }
            Class::IN if !t.is_meta() => value_dependent.push(r),
            _ => return Err(Rcode::FORMERR),
        }
    }
    // Each RRset named must exist with exactly these data (TTL aside).
    for r in &value_dependent {
        let (name, t) = (&r.name, r.rtype());
        let want: Vec<&RData> = value_dependent
            .iter()
            .filter(|x| x.name == *name && x.rtype() == t)
            .map(|x| &x.data)
            .collect();
        let have: Vec<&RData> = at(zone, name)
            .filter(|x| x.rtype() == t)
            .map(|x| &x.data)
            .collect();
        let covered = |a: &[&RData], b: &[&RData]| a.iter().all(|d| b.contains(d));
        if have.is_empty() || !covered(&want, &have) || !covered(&have, &want) {
            return Err(Rcode::NXRRSET);
        }
    }
    Ok(())
}

/// Checks the update section before anything is applied (RFC 2136 §3.4.1).
fn prescan(origin: &Name, updates: &[Record]) -> Result<(), Rcode> {
    for r in updates {
        if !r.name.is_subdomain_of(origin) {
            return Err(Rcode::NOTZONE);
        }
        let t = r.rtype();
        let ok = match r.class {
            Class::IN => !t.is_meta() && !is_empty_known(r),
            Class::ANY => r.ttl == 0 && is_empty(r) && (!t.is_meta() || t == Type::ANY),
            Class::NONE => r.ttl == 0 && !t.is_meta() && !is_empty_known(r),
            _ => false,
        };
        if !ok {
            return Err(Rcode::FORMERR);
        }
    }
    Ok(())
}

/// An empty-data record of a type that must have data: only meaningful
/// in class ANY.
fn is_empty_known(r: &Record) -> bool {
    is_empty(r) && r.rtype().mnemonic().is_some()
}

/// Applies the UPDATE message `msg` to `zone` (whose origin is the zone
/// section's name): `Ok(None)` when the prerequisites hold but nothing
/// changes, the new zone with its serial increased when something does,
/// or the RCODE that refuses the update.
pub fn apply_update(zone: &Zone, msg: &Message) -> Result<Option<Zone>, Rcode> {
    let origin = zone.origin();
    prerequisites(zone, &msg.answers)?;
    prescan(origin, &msg.authority)?;
    let mut records: Vec<Record> = zone.records().to_vec();
    let old_serial = zone.soa().serial;
    for u in &msg.authority {
        let t = u.rtype();
        let apex = u.name == *origin;
        match u.class {
            Class::IN => {
                if t == Type::SOA {
                    if let RData::Soa(new) = &u.data
                        && apex
                        && serial_gt(new.serial, old_serial)
                    {
                        records.retain(|r| r.rtype() != Type::SOA);
                        records.push(u.clone());
                    }
                    continue;
                }
                let here = |r: &&Record| r.name == u.name;
                let has_cname = records
                    .iter()
                    .filter(here)
                    .any(|r| r.rtype() == Type::CNAME);
                let has_other = records
                    .iter()
                    .filter(here)
                    .any(|r| !matches!(r.rtype(), Type::CNAME | Type::RRSIG | Type::NSEC));
                if t == Type::CNAME && has_other
                    || t != Type::CNAME && !matches!(t, Type::RRSIG | Type::NSEC) && has_cname
                {
                    continue;
                }
                if t == Type::CNAME {
                    records.retain(|r| !(r.name == u.name && r.rtype() == Type::CNAME));
                }
                match records
                    .iter_mut()
                    .find(|r| r.name == u.name && r.data == u.data)
                {
                    Some(r) => r.ttl = u.ttl,
                    None => records.push(u.clone()),
                }
            }
            Class::ANY => records.retain(|r| {
                r.name != u.name
                    || (t != Type::ANY && r.rtype() != t)
                    || (apex && matches!(r.rtype(), Type::SOA | Type::NS))
            }),
            _ => {
                if t == Type::SOA {
                    continue;
                }
                let ns_left = records
                    .iter()
                    .filter(|r| r.name == *origin && r.rtype() == Type::NS)
                    .count();
                if apex && t == Type::NS && ns_left <= 1 {
                    continue;
                }
                records.retain(|r| !(r.name == u.name && r.data == u.data));
            }
        }
    }
    let mut new = Zone::new(origin.clone(), records).map_err(|_| Rcode::REFUSED)?;
    if new.records() == zone.records() {
        return Ok(None);
    }
    if !serial_gt(new.soa().serial, old_serial) {
        let mut records = new.records().to_vec();
        for r in &mut records {
            if let RData::Soa(s) = &mut r.data {
                s.serial = old_serial.wrapping_add(1);
            }
        }
        new = Zone::new(origin.clone(), records).map_err(|_| Rcode::REFUSED)?;
    }
    Ok(Some(new))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wire::{Opcode, Question};
    use crate::zone::parse_str;

    fn zone() -> Zone {
        let origin: Name = "example.com.".parse().unwrap();
        let text = "$TTL 60\n@ SOA ns hm 10 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\nwww A 192.0.2.81\nalias CNAME www\n";
        Zone::new(origin.clone(), parse_str(text, "z", &origin).unwrap()).unwrap()
    }

    fn rr(text: &str) -> Record {
        let origin: Name = "example.com.".parse().unwrap();
        parse_str(&format!("$TTL 60\n{text}\n"), "u", &origin)
            .unwrap()
            .remove(0)
    }

    fn empty(name: &str, class: Class, t: Type) -> Record {
        Record {
            name: name.parse().unwrap(),
            class,
            ttl: 0,
            data: RData::Unknown {
                rtype: t,
                data: Vec::new(),
            },
        }
    }

    fn update(prereqs: Vec<Record>, updates: Vec<Record>) -> Message {
        let mut m = Message::default();
        m.header.opcode = Opcode::UPDATE.0;
        m.questions.push(Question {
            name: "example.com.".parse().unwrap(),
            qtype: Type::SOA,
            qclass: Class::IN,
        });
        m.answers = prereqs;
        m.authority = updates;
        m
    }

    fn lines(z: &Zone) -> Vec<String> {
        z.records().iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn test_add_and_delete() {
        let z = zone();
        let new = apply_update(&z, &update(vec![], vec![rr("new 300 A 192.0.2.9")]))
            .unwrap()
            .unwrap();
        assert!(lines(&new).contains(&"new.example.com. 300 IN A 192.0.2.9".to_string()));
        assert_eq!(new.soa().serial, 11);
        // Delete one record, then the RRset, then the name.
        let mut one = rr("www A 192.0.2.80");
        one.class = Class::NONE;
        one.ttl = 0;
        let n = apply_update(&z, &update(vec![], vec![one]))
            .unwrap()
            .unwrap();
        assert_eq!(
            n.records()
                .iter()
                .filter(|r| r.name.to_string() == "www.example.com.")
                .count(),
            1
        );
        let n = apply_update(
            &z,
            &update(vec![], vec![empty("www.example.com.", Class::ANY, Type::A)]),
        )
        .unwrap()
        .unwrap();
        assert!(!lines(&n).iter().any(|l| l.starts_with("www.")));
        let n = apply_update(
            &z,
            &update(
                vec![],
                vec![empty("alias.example.com.", Class::ANY, Type::ANY)],
            ),
        )
        .unwrap()
        .unwrap();
        assert!(!lines(&n).iter().any(|l| l.starts_with("alias.")));
        // The apex keeps its SOA and NS; the last NS is not deleted.
        let n = apply_update(
            &z,
            &update(vec![], vec![empty("example.com.", Class::ANY, Type::ANY)]),
        )
        .unwrap();
        assert!(n.is_none());
        let mut ns = rr("@ NS ns");
        ns.class = Class::NONE;
        ns.ttl = 0;
        assert!(
            apply_update(&z, &update(vec![], vec![ns]))
                .unwrap()
                .is_none()
        );
        // A CNAME beside other data is ignored; re-adding a record changes nothing.
        assert!(
            apply_update(&z, &update(vec![], vec![rr("www CNAME ns")]))
                .unwrap()
                .is_none()
        );
        assert!(
            apply_update(&z, &update(vec![], vec![rr("alias A 192.0.2.1")]))
                .unwrap()
                .is_none()
        );
        assert!(
            apply_update(&z, &update(vec![], vec![rr("www A 192.0.2.80")]))
                .unwrap()
                .is_none()
        );
        // An explicit newer SOA serial is kept.
        let n = apply_update(&z, &update(vec![], vec![rr("@ SOA ns hm 99 2 3 4 5")]))
            .unwrap()
            .unwrap();
        assert_eq!(n.soa().serial, 99);
    }

    #[test]
    fn test_prerequisites() {
        let z = zone();
        let add = || vec![rr("x A 192.0.2.5")];
        let go = |p: Vec<Record>| apply_update(&z, &update(p, add())).map(|n| n.is_some());
        assert_eq!(
            go(vec![empty("www.example.com.", Class::ANY, Type::ANY)]),
            Ok(true)
        );
        assert_eq!(
            go(vec![empty("nope.example.com.", Class::ANY, Type::ANY)]),
            Err(Rcode::NXDOMAIN)
        );
        assert_eq!(
            go(vec![empty("www.example.com.", Class::ANY, Type::AAAA)]),
            Err(Rcode::NXRRSET)
        );
        assert_eq!(
            go(vec![empty("www.example.com.", Class::NONE, Type::ANY)]),
            Err(Rcode::YXDOMAIN)
        );
        assert_eq!(
            go(vec![empty("www.example.com.", Class::NONE, Type::A)]),
            Err(Rcode::YXRRSET)
        );
        assert_eq!(
            go(vec![empty("nope.example.com.", Class::NONE, Type::ANY)]),
            Ok(true)
        );
        let mut a = rr("www A 192.0.2.80");
        a.ttl = 0;
        let mut b = rr("www A 192.0.2.81");
        b.ttl = 0;
        assert_eq!(go(vec![a.clone(), b]), Ok(true));
        assert_eq!(go(vec![a.clone()]), Err(Rcode::NXRRSET));
        let mut far = empty("www.example.org.", Class::ANY, Type::ANY);
        far.ttl = 0;
        assert_eq!(go(vec![far]), Err(Rcode::NOTZONE));
        a.ttl = 5;
        assert_eq!(go(vec![a]), Err(Rcode::FORMERR));
        assert_eq!(
            apply_update(&z, &update(vec![], vec![rr("x.example.org. A 192.0.2.1")])),
            Err(Rcode::NOTZONE)
        );
    }
}
