//! [`MemResolver`]: a fixed table of host names and their addresses.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::IpAddr;

use crate::resolver::{ResolveError, Resolver, check_name, ip_literal};

/// A resolver for tests: names map to the addresses given to
/// [`MemResolver::insert`], compared without regard to ASCII case or a final
/// `.`. Clones share the same table.
///
/// IP literals come back as is; a name not in the table is
/// [`ResolveError::NotFound`], a name inserted with no addresses is
/// [`ResolveError::NoAddress`]. `localhost` is an ordinary name here: insert
/// it if a test needs it.
#[derive(Debug, Clone, Default)]
pub struct MemResolver {
    table: Rc<RefCell<BTreeMap<String, Vec<IpAddr>>>>,
}

fn normal(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

impl MemResolver {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the addresses of `host` (most preferred first), replacing any
    /// earlier entry.
    pub fn insert(&self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) {
        self.table
            .borrow_mut()
            .insert(normal(host), addrs.into_iter().collect());
    }

    /// Forgets `host`; it resolves to [`ResolveError::NotFound`] again.
    pub fn remove(&self, host: &str) {
        self.table.borrow_mut().remove(&normal(host));
    }
}

impl Resolver for MemResolver {
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![ip]);
        }
        check_name(host)?;
        match self.table.borrow().get(&normal(host)) {
            None => Err(ResolveError::NotFound),
            Some(addrs) if addrs.is_empty() => Err(ResolveError::NoAddress),
            Some(addrs) => Ok(addrs.clone()),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use futures::executor::block_on;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn test_table() {
        let r = MemResolver::new();
        r.insert("Git.Example.org", [ip("192.0.2.7"), ip("2001:db8::7")]);
        r.insert("empty.example.org.", []);
        let shared = r.clone();
        for name in ["git.example.org", "GIT.EXAMPLE.ORG.", "git.example.org."] {
            assert_eq!(
                block_on(shared.resolve(name)).unwrap(),
                [ip("192.0.2.7"), ip("2001:db8::7")],
                "{name}"
            );
        }
        assert!(matches!(
            block_on(r.resolve("empty.example.org")),
            Err(ResolveError::NoAddress)
        ));
        assert!(matches!(
            block_on(r.resolve("other.example.org")),
            Err(ResolveError::NotFound)
        ));
        assert!(matches!(
            block_on(r.resolve("localhost")),
            Err(ResolveError::NotFound)
        ));
        assert!(matches!(
            block_on(r.resolve("bad name")),
            Err(ResolveError::InvalidName)
        ));
        r.insert("git.example.org", [ip("198.51.100.1")]);
        assert_eq!(
            block_on(r.resolve("git.example.org")).unwrap(),
            [ip("198.51.100.1")]
        );
        r.remove("GIT.example.org");
        assert!(matches!(
            block_on(shared.resolve("git.example.org")),
            Err(ResolveError::NotFound)
        ));
    }

    #[test]
    fn test_literals_skip_the_table() {
        let r = MemResolver::new();
        r.insert("192.0.2.1", [ip("198.51.100.1")]);
        assert_eq!(block_on(r.resolve("192.0.2.1")).unwrap(), [ip("192.0.2.1")]);
        assert_eq!(block_on(r.resolve("[::1]")).unwrap(), [ip("::1")]);
    }
}
