//! Who may transfer and update which zone, and whom to notify: the
//! access rules of a primary server.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::tsig::Keyring;
use crate::wire::Name;

/// An access list: TSIG key names and source networks. A request is
/// allowed when it is signed by a listed key, or comes from a listed network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// Keys whose signature grants access.
    pub keys: Vec<Name>,
    /// Networks (address, prefix length) whose requests are allowed unsigned.
    pub nets: Vec<(IpAddr, u8)>,
}

/// Returned when an access-list entry cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// Neither `key:NAME` nor an address with an optional `/PREFIX`.
    #[error("{0:?} is neither key:NAME nor ADDRESS[/PREFIX]")]
    BadEntry(String),
}

impl Acl {
    /// Adds `key:NAME` (a TSIG key) or `ADDRESS[/PREFIX]` (a network).
    pub fn add(&mut self, entry: &str) -> Result<(), AclError> {
        let bad = || AclError::BadEntry(entry.to_string());
        if let Some(k) = entry.strip_prefix("key:") {
            self.keys.push(k.parse().map_err(|_| bad())?);
            return Ok(());
        }
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?,
            None => max,
        };
        self.nets.push((addr, prefix));
        Ok(())
    }

    /// Whether a request signed by `key` (if verified) from `peer` is allowed.
    pub fn allows(&self, key: Option<&Name>, peer: IpAddr) -> bool {
        key.is_some_and(|k| self.keys.contains(k))
            || self.nets.iter().any(|&(net, len)| in_net(peer, net, len))
    }
}

fn in_net(addr: IpAddr, net: IpAddr, len: u8) -> bool {
    let (a, n, bits): (u128, u128, u32) = match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u32::from(a) as u128, u32::from(n) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        (IpAddr::V6(a), IpAddr::V4(n)) => match a.to_ipv4_mapped() {
            Some(a) => (u32::from(a) as u128, u32::from(n) as u128, 32),
            None => return false,
        },
        _ => return false,
    };
    let shift = bits - (len as u32).min(bits);
    shift >= bits || (a >> shift) == (n >> shift)
}

/// The rules for one zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZonePolicy {
    /// Who may AXFR or IXFR the zone.
    pub transfer: Acl,
    /// Who may send dynamic updates (RFC 2136); only the `keys` count, an
    /// update is never allowed unsigned.
    pub update: Acl,
    /// Secondaries sent a NOTIFY when the zone's serial changes.
    pub notify: Vec<SocketAddr>,
    /// The key that signs those NOTIFYs, if any.
    pub notify_key: Option<Name>,
    /// Who may NOTIFY us of a new serial of the zone, when we are its
    /// secondary; nobody when empty.
    pub notify_from: Acl,
}

/// The access rules and keys of a primary: a default for every zone and
/// per-zone replacements.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The TSIG keys known.
    pub keys: Keyring,
    /// The rules for zones without their own.
    pub default: ZonePolicy,
    /// Rules for particular zones, by origin.
    pub zones: HashMap<Name, ZonePolicy>,
}

impl Policy {
    /// The rules for the zone at `origin`.
    pub fn for_zone(&self, origin: &Name) -> &ZonePolicy {
        self.zones.get(origin).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_acl() {
        let mut acl = Acl::default();
        acl.add("key:xfr.example").unwrap();
        acl.add("127.0.0.0/8").unwrap();
        acl.add("2001:db8::/32").unwrap();
        acl.add("192.0.2.7").unwrap();
        assert!(acl.add("10.0.0.0/33").is_err());
        assert!(acl.add("nonsense").is_err());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let key: Name = "XFR.example.".parse().unwrap();
        assert!(acl.allows(Some(&key), ip("198.51.100.1")));
        assert!(!acl.allows(Some(&"other.".parse().unwrap()), ip("198.51.100.1")));
        assert!(acl.allows(None, ip("127.3.2.1")));
        assert!(acl.allows(None, ip("::ffff:127.0.0.1")));
        assert!(acl.allows(None, ip("2001:db8:1::5")));
        assert!(acl.allows(None, ip("192.0.2.7")));
        assert!(!acl.allows(None, ip("192.0.2.8")));
        assert!(!acl.allows(None, ip("2001:db9::1")));
        let mut all = Acl::default();
        all.add("0.0.0.0/0").unwrap();
        assert!(all.allows(None, ip("203.0.113.9")));
    }
}
