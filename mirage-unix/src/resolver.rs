//! [`SystemResolver`]: host names resolved by the host (`getaddrinfo`, so
//! `/etc/hosts`, the system's DNS servers and whatever NSS is configured).

use std::io;
use std::net::IpAddr;

use mirage_core::resolver::{check_name, ip_literal};
use mirage_core::{ResolveError, Resolver};

use crate::sys::gai_message;

/// The host's resolver as a mirage-core [`Resolver`], through tokio's
/// `lookup_host` (a `getaddrinfo` call on tokio's blocking pool, so the
/// single-threaded executor keeps running). Needs a tokio runtime, as every
/// device of this crate does.
///
/// IP literals come back without a lookup. Addresses are in the order the
/// host prefers (RFC 6724 on glibc), each once. Errors: a name the host
/// does not know (`EAI_NONAME`) is [`ResolveError::NotFound`], a name
/// without addresses (`EAI_NODATA`) is
/// [`ResolveError::NoAddress`], a temporary failure (`EAI_AGAIN`, such as
/// an unreachable DNS server) is [`ResolveError::Unavailable`], anything
/// else is [`ResolveError::Other`] with the host's error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![ip]);
        }
        check_name(host)?;
        let found = tokio::net::lookup_host((host, 0)).await.map_err(classify)?;
        let mut ips: Vec<IpAddr> = Vec::new();
        for addr in found {
            // One entry per socket type comes back for each address.
            if !ips.contains(&addr.ip()) {
                ips.push(addr.ip());
            }
        }
        if ips.is_empty() {
            return Err(ResolveError::NoAddress);
        }
        Ok(ips)
    }
}

/// Which failure a `lookup_host` error is. std keeps only the text of a
/// `getaddrinfo` error code (`failed to lookup address information:
/// <gai_strerror>`), so the text is compared with `gai_strerror` of the
/// codes that matter, in this process's locale.
fn classify(e: io::Error) -> ResolveError {
    if e.raw_os_error().is_none() {
        let text = e.to_string();
        let is = |code| text.ends_with(&format!(": {}", gai_message(code)));
        if is(libc::EAI_NONAME) {
            return ResolveError::NotFound;
        }
        #[cfg(target_os = "linux")]
        if is(libc::EAI_NODATA) {
            return ResolveError::NoAddress;
        }
        if is(libc::EAI_AGAIN) {
            return ResolveError::Unavailable;
        }
    }
    ResolveError::Other(Box::new(e))
}

#[cfg(test)]
mod test {
    use super::*;
    use mirage_testkit::runtime::block_on;

    #[test]
    fn localhost_is_a_loopback_address() {
        let ips = block_on(SystemResolver.resolve("localhost")).unwrap();
        assert!(!ips.is_empty());
        assert!(ips.iter().all(|ip| ip.is_loopback()), "{ips:?}");
        let mut seen = ips.clone();
        seen.dedup();
        assert_eq!(seen.len(), ips.len(), "each address once: {ips:?}");
    }

    #[test]
    fn literals_need_no_lookup() {
        assert_eq!(
            block_on(SystemResolver.resolve("192.0.2.1")).unwrap(),
            ["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            block_on(SystemResolver.resolve("[2001:db8::1]")).unwrap(),
            ["2001:db8::1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn an_invalid_name_is_an_error() {
        // RFC 6761 §6.4: `.invalid` never exists. Without a reachable DNS
        // server the host may say "try again" rather than "no such name",
        // so any error will do, but never addresses or a panic.
        let res = block_on(SystemResolver.resolve("mirage-rs-test.invalid"));
        println!("mirage-rs-test.invalid: {res:?}");
        assert!(
            matches!(
                res,
                Err(ResolveError::NotFound | ResolveError::Unavailable | ResolveError::Other(_))
            ),
            "{res:?}"
        );
        let res = block_on(SystemResolver.resolve("not a host name"));
        assert!(matches!(res, Err(ResolveError::InvalidName)), "{res:?}");
    }

    #[test]
    fn gai_texts_are_recognised() {
        let as_std = |code| {
            io::Error::other(format!(
                "failed to lookup address information: {}",
                gai_message(code)
            ))
        };
        assert!(matches!(
            classify(as_std(libc::EAI_NONAME)),
            ResolveError::NotFound
        ));
        assert!(matches!(
            classify(as_std(libc::EAI_AGAIN)),
            ResolveError::Unavailable
        ));
        #[cfg(target_os = "linux")]
        assert!(matches!(
            classify(as_std(libc::EAI_NODATA)),
            ResolveError::NoAddress
        ));
        assert!(matches!(
            classify(as_std(libc::EAI_FAIL)),
            ResolveError::Other(_)
        ));
        assert!(matches!(
            classify(io::Error::from_raw_os_error(libc::ENOMEM)),
            ResolveError::Other(_)
        ));
    }
}
