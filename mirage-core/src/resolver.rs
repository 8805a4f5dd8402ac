//! Name resolution: [`Resolver`].
//!
//! A protocol that is handed a host name (a Git remote, an HTTP proxy) asks
//! a [`Resolver`] for its addresses instead of depending on a DNS client:
//! the resolver is a device like any other. mirage-dns's stub resolver
//! implements it over any [`crate::Stack`], mirage-unix's `SystemResolver`
//! asks the host, [`LiteralResolver`] knows only IP literals and
//! `localhost`, and [`crate::mem::MemResolver`] is a fixed table for tests.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a name could not be turned into addresses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The text is not a host name (empty, a label longer than 63 bytes,
    /// a name longer than 253 bytes, characters outside letters, digits,
    /// `-` and `_`).
    #[error("not a valid host name")]
    InvalidName,
    /// The name does not exist (DNS NXDOMAIN, not in the table).
    #[error("no such host")]
    NotFound,
    /// The name exists but has no IPv4 or IPv6 address.
    #[error("the host has no address")]
    NoAddress,
    /// The resolver could not give an answer now (no server answered, the
    /// server failed); trying again later may work.
    #[error("the resolver is unavailable")]
    Unavailable,
    /// The resolver reported another failure.
    #[error("resolver error: {0}")]
    Other(#[source] Box<dyn core::error::Error + Send + Sync + 'static>),
}

/// Turns host names into addresses (a stub resolver over a Stack, the
/// host's resolver, a fixed table in tests).
#[allow(async_fn_in_trait)]
pub trait Resolver {
    /// The addresses of `host`, most preferred first. An IP literal
    /// (`192.0.2.1`, `::1`, `[::1]`) comes back as is.
    ///
    /// A successful answer is never empty: a name without addresses is
    /// [`ResolveError::NoAddress`].
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError>;
}

macro_rules! forward_resolver {
    ($($ptr:ty),*) => {$(
        impl<T: Resolver + ?Sized> Resolver for $ptr {
            async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
                (**self).resolve(host).await
            }
        }
    )*};
}
forward_resolver!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);

/// The address an IP literal names: `192.0.2.1`, `2001:db8::1`, or an IPv6
/// address in brackets as in URLs (`[::1]`). `None` for anything else.
///
/// Every [`Resolver`] answers literals this way, without a lookup.
pub fn ip_literal(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse().ok(),
    }
}

/// Checks that `host` is written like a host name: 1 to 253 bytes (a final
/// `.` aside), dot-separated labels of 1 to 63 letters, digits, `-` or `_`.
///
/// Resolvers call it before a lookup so that text from a URL or a command
/// line cannot put odd bytes into a query.
pub fn check_name(host: &str) -> Result<(), ResolveError> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return Err(ResolveError::InvalidName);
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(ResolveError::InvalidName)
    }
}

/// Whether `host` is `localhost` or a name under it (RFC 6761 §6.3), in any
/// case and with or without a final dot.
pub fn is_localhost(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).as_bytes();
    let tail = b"localhost";
    name.len() >= tail.len()
        && name[name.len() - tail.len()..].eq_ignore_ascii_case(tail)
        && (name.len() == tail.len() || name[name.len() - tail.len() - 1] == b'.')
}

/// A resolver that needs no network: IP literals come back as is and
/// `localhost` (and names under it, RFC 6761) is `127.0.0.1` then `::1`.
///
/// Any other well-formed name is [`ResolveError::NotFound`]: this resolver
/// knows no names, so "no such host" is its honest answer (not
/// `Unavailable`, which would suggest trying again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiteralResolver;

impl Resolver for LiteralResolver {
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![ip]);
        }
        check_name(host)?;
        if is_localhost(host) {
            Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ])
        } else {
            Err(ResolveError::NotFound)
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
    fn test_ip_literal() {
        assert_eq!(ip_literal("192.0.2.1"), Some(ip("192.0.2.1")));
        assert_eq!(ip_literal("::1"), Some(ip("::1")));
        assert_eq!(ip_literal("[2001:db8::7]"), Some(ip("2001:db8::7")));
        assert_eq!(ip_literal("[192.0.2.1]"), None);
        assert_eq!(ip_literal("[::1"), None);
        assert_eq!(ip_literal("example.org"), None);
        assert_eq!(ip_literal(""), None);
    }

    #[test]
    fn test_check_name() {
        for good in [
            "a",
            "example.org",
            "example.org.",
            "x-1.y_2.Z",
            &"a".repeat(63),
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long_label = "a".repeat(64);
        let long_name = ["a"; 127].join(".") + ".bc"; // 256 bytes
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a b",
            "a/b",
            "é.org",
            &long_label,
            &long_name,
        ] {
            assert!(
                matches!(check_name(bad), Err(ResolveError::InvalidName)),
                "{bad:?}"
            );
        }
        let longest = ["a"; 126].join(".") + ".b"; // 253 bytes
        assert_eq!(longest.len(), 253);
        assert!(check_name(&longest).is_ok());
    }

    #[test]
    fn test_is_localhost() {
        for yes in ["localhost", "LocalHost.", "a.localhost", "x.y.LOCALHOST"] {
            assert!(is_localhost(yes), "{yes}");
        }
        for no in ["notlocalhost", "localhost.org", "local", ""] {
            assert!(!is_localhost(no), "{no}");
        }
    }

    #[test]
    fn test_literal_resolver() {
        let r = LiteralResolver;
        assert_eq!(block_on(r.resolve("192.0.2.1")).unwrap(), [ip("192.0.2.1")]);
        assert_eq!(block_on(r.resolve("[::1]")).unwrap(), [ip("::1")]);
        assert_eq!(block_on(r.resolve("fe80::2")).unwrap(), [ip("fe80::2")]);
        assert_eq!(
            block_on(r.resolve("localhost")).unwrap(),
            [ip("127.0.0.1"), ip("::1")]
        );
        assert!(matches!(
            block_on(r.resolve("example.org")),
            Err(ResolveError::NotFound)
        ));
        assert!(matches!(
            block_on(r.resolve("no spaces")),
            Err(ResolveError::InvalidName)
        ));
    }

    #[test]
    fn test_forwarding() {
        async fn first(r: impl Resolver) -> IpAddr {
            r.resolve("localhost").await.unwrap()[0]
        }
        let r = LiteralResolver;
        assert_eq!(block_on(first(&r)), ip("127.0.0.1"));
        assert_eq!(block_on(first(alloc::rc::Rc::new(r))), ip("127.0.0.1"));
        assert_eq!(block_on(first(alloc::sync::Arc::new(r))), ip("127.0.0.1"));
        let boxed: Box<LiteralResolver> = Box::new(r);
        assert_eq!(block_on(first(boxed)), ip("127.0.0.1"));
    }

    #[test]
    fn test_error_text() {
        use alloc::string::ToString;
        assert_eq!(ResolveError::NotFound.to_string(), "no such host");
        let e = ResolveError::Other("boom".into());
        assert_eq!(e.to_string(), "resolver error: boom");
        assert!(core::error::Error::source(&e).is_some());
    }
}
