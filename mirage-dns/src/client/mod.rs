//! A stub resolver: asks upstream DNS servers over any [`Stack`](mirage_core::Stack)
//! and caches what they answer, so an appliance can turn host names into
//! addresses without the host's resolver.
//!
//! [`StubResolver::lookup`] gives an [`Answer`] (records with the CNAME
//! chain followed, or NXDOMAIN / NODATA with the negative TTL);
//! [`StubResolver::lookup_ip`] gives the addresses of a host name, and the
//! resolver is a [`mirage_core::Resolver`] for protocols that need only
//! addresses (mapping its errors as `From` says). The
//! pieces are apart so they can be tested alone: [`check_response`] (does
//! a message answer the question sent), [`Answer::from_message`] (what it
//! says) and the [`Cache`].

mod answer;
mod cache;
mod check;
mod error;
mod options;
mod resolver;
mod signature;
mod transport;

#[cfg(test)]
mod test;

pub use answer::{Answer, Status};
pub use cache::Cache;
pub use check::{Rejected, Sent, check_response};
pub use error::{Mismatch, ResolveError};
pub use options::Options;
pub use resolver::StubResolver;
