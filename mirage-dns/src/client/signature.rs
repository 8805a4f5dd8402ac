//! The stub resolver as mirage-core's [`Resolver`] signature, so protocols
//! that take host names (a Git remote, say) can use it without depending on
//! this crate.

use std::net::IpAddr;

use mirage_core::resolver::check_name;
use mirage_core::{Random, Resolver, Stack, Time};

use super::error::ResolveError;
use super::resolver::StubResolver;

/// Maps a lookup failure to the signature's error.
///
/// NXDOMAIN is [`NotFound`](mirage_core::ResolveError::NotFound), NODATA
/// is [`NoAddress`](mirage_core::ResolveError::NoAddress), a bad name is
/// [`InvalidName`](mirage_core::ResolveError::InvalidName), no answer in
/// time from any server is [`Unavailable`](mirage_core::ResolveError::Unavailable);
/// every other failure (a server's error code, malformed or mismatched
/// answers, the transport, CNAME loops, no servers configured) is
/// [`Other`](mirage_core::ResolveError::Other) carrying this error, so the
/// server and the reason are kept.
impl From<ResolveError> for mirage_core::ResolveError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::NxDomain { .. } => Self::NotFound,
            ResolveError::NoData { .. } => Self::NoAddress,
            ResolveError::InvalidName(_) => Self::InvalidName,
            ResolveError::Timeout { .. } => Self::Unavailable,
            e @ (ResolveError::NoServers
            | ResolveError::ServerFailure { .. }
            | ResolveError::Malformed { .. }
            | ResolveError::Mismatched { .. }
            | ResolveError::Transport { .. }
            | ResolveError::TcpShort { .. }
            | ResolveError::CnameLoop { .. }
            | ResolveError::ChainTooLong { .. }) => Self::Other(Box::new(e)),
        }
    }
}

/// [`StubResolver::lookup_ip`]: IPv4 then IPv6 addresses, from the cache
/// while their TTLs last. A host name must be letters, digits, `-` and `_`
/// ([`check_name`]); DNS escapes are for [`StubResolver::lookup`].
impl<S: Stack, T: Time, R: Random> Resolver for StubResolver<S, T, R> {
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, mirage_core::ResolveError> {
        if let Some(ip) = mirage_core::resolver::ip_literal(host) {
            return Ok(vec![ip]);
        }
        check_name(host)?;
        Ok(self.lookup_ip(host).await?)
    }
}
