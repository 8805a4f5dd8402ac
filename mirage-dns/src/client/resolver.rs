//! [`StubResolver`]: asks upstream servers, retries, falls back to TCP,
//! caches, and turns host names into addresses.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};

use mirage_core::{Random, Stack, Time};

use super::answer::{Answer, Status};
use super::cache::Cache;
use super::check::{Rejected, Sent};
use super::error::ResolveError;
use super::options::Options;
use super::transport::{UdpOutcome, tcp_exchange, udp_exchange};
use crate::wire::{CLASSIC_UDP_SIZE, Class, Edns, Message, Name, Question, Rcode, Type};

/// A stub resolver (RFC 1123 §6.1.3.1): it sends each question to
/// upstream servers that do the recursion, and checks and caches what they
/// answer.
///
/// Generic over the transport ([`Stack`]), the timers ([`Time`]) and the
/// randomness ([`Random`]) behind the message IDs, so the same resolver
/// runs on host sockets, on our own stack, and in simulations.
///
/// Each UDP question goes out from a fresh socket bound to port 0 (the
/// stack picks the port; the host's picks it at random) with a fresh random
/// ID and an EDNS(0) OPT record; only a datagram from the server asked,
/// with that ID and that question (name compared without case), is taken as
/// the answer, anything else is ignored as a possible spoofing attempt.
/// A server gets [`Options::attempts`] questions, each waiting
/// [`Options::timeout`], then the next server is asked. A truncated answer
/// (TC) is asked again over TCP. A server that rejects EDNS (FORMERR or
/// NOTIMP without an OPT record) is asked once more without it.
///
/// Methods take `&self`: the cache sits in a `RefCell` that is never
/// borrowed across an `await`, so several lookups may run at once.
pub struct StubResolver<S, T, R> {
    stack: S,
    time: T,
    random: R,
    options: Options,
    cache: RefCell<Cache>,
}

impl<S, T, R> core::fmt::Debug for StubResolver<S, T, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StubResolver")
            .field("options", &self.options)
            .field("cache", &self.cache)
            .finish()
    }
}

impl<S: Stack, T: Time, R: Random> StubResolver<S, T, R> {
    /// A resolver asking the servers of `options` over `stack`.
    pub fn new(stack: S, time: T, random: R, options: Options) -> Self {
        let cache = Cache::new(
            options.cache_size,
            options.max_ttl,
            options.max_negative_ttl,
        );
        StubResolver {
            stack,
            time,
            random,
            options,
            cache: RefCell::new(cache),
        }
    }

    /// The configuration.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Answers currently cached.
    pub fn cache_len(&self) -> usize {
        self.cache.borrow().len()
    }

    /// Forgets every cached answer.
    pub fn clear_cache(&self) {
        self.cache.borrow_mut().clear();
    }

    /// Looks up the records of type `rtype` (class IN) at `name`.
    ///
    /// A cached answer is returned while its TTL lasts. NXDOMAIN and NODATA
    /// are answers too ([`Answer::status`]), cached for their negative TTL;
    /// a CNAME chain in the answer is followed (not for `CNAME` or `ANY`
    /// questions). Errors are those of the last server asked.
    pub async fn lookup(&self, name: &Name, rtype: Type) -> Result<Answer, ResolveError> {
        let now = self.time.now();
        if let Some(hit) = self.cache.borrow_mut().get(name, rtype, now) {
            return Ok(hit);
        }
        let question = Question {
            name: name.clone(),
            qtype: rtype,
            qclass: Class::IN,
        };
        let answer = self.resolve(&question).await?;
        self.cache.borrow_mut().insert(&answer, self.time.now());
        Ok(answer)
    }

    /// The IPv4 then IPv6 addresses of `host`, asking A and AAAA at once.
    ///
    /// An IP literal (`192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`) is
    /// returned as it is, without a question. A name is taken as absolute
    /// (there is no search list). When neither type has an address, the
    /// error says whether the name does not exist
    /// ([`ResolveError::NxDomain`]) or has no address
    /// ([`ResolveError::NoData`]); when one lookup fails and the other has
    /// addresses, the addresses are returned.
    pub async fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let name: Name = host.parse()?;
        let (a, aaaa) =
            futures::future::join(self.lookup(&name, Type::A), self.lookup(&name, Type::AAAA))
                .await;
        let mut ips = Vec::new();
        let mut error = None;
        let mut nxdomain = false;
        for result in [a, aaaa] {
            match result {
                Ok(answer) => {
                    ips.extend(answer.ips());
                    nxdomain |= answer.status == Status::NxDomain;
                }
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        if !ips.is_empty() {
            return Ok(ips);
        }
        Err(match error {
            Some(e) => e,
            None if nxdomain => ResolveError::NxDomain { name },
            None => ResolveError::NoData {
                name,
                rtype: Type::AAAA,
            },
        })
    }

    /// Asks for `question`, and when the answer's CNAME chain stops at a
    /// name with neither records nor an SOA (an authoritative server whose
    /// chain leaves its zones), asks again for the name the chain reached,
    /// within [`Options::max_cname_chain`] CNAME records in all.
    async fn resolve(&self, question: &Question) -> Result<Answer, ResolveError> {
        let limit = self.options.max_cname_chain;
        let mut answer = self.query(question).await?;
        while answer.status == Status::NoData && answer.soa.is_none() && !answer.chain.is_empty() {
            let next_question = Question {
                name: answer.canonical.clone(),
                ..question.clone()
            };
            let next = self.query(&next_question).await?;
            // `from_message` refused loops inside `next`; a loop may still
            // come back to a name visited before this question.
            let visited =
                |n: &Name| *n == question.name || answer.chain.iter().any(|c| c.name == *n);
            if let Some(back) = next
                .chain
                .iter()
                .filter_map(|c| c.data.target())
                .find(|t| visited(t))
            {
                return Err(ResolveError::CnameLoop { name: back.clone() });
            }
            let progressed = !next.chain.is_empty();
            if answer.chain.len() + next.chain.len() > limit {
                return Err(ResolveError::ChainTooLong { limit });
            }
            let chain_ttl = answer.chain.iter().map(|r| r.ttl).min().unwrap_or(u32::MAX);
            answer.chain.extend(next.chain);
            answer = Answer {
                chain: answer.chain,
                ttl: next.ttl.min(chain_ttl),
                ..next
            };
            answer.name = question.name.clone();
            if !progressed {
                break;
            }
        }
        Ok(answer)
    }

    /// Asks each server in turn until one gives an answer.
    async fn query(&self, question: &Question) -> Result<Answer, ResolveError> {
        let mut last = ResolveError::NoServers;
        for &server in &self.options.servers {
            match self.ask(server, question).await {
                Ok(answer) => return Ok(answer),
                // What the answer says would not change with another server.
                Err(e @ (ResolveError::CnameLoop { .. } | ResolveError::ChainTooLong { .. })) => {
                    return Err(e);
                }
                Err(e) => {
                    log::debug!("{server} gave no answer to {question:?}: {e}");
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// A question as sent to `server`, with a fresh random ID.
    fn prepare(&self, server: SocketAddr, question: &Question, edns: bool) -> (Sent, Vec<u8>) {
        let id = self.random.next_u32() as u16;
        let mut m = Message::default();
        m.header.id = id;
        m.header.rd = self.options.recursion_desired;
        m.questions.push(question.clone());
        if edns {
            m.edns = Some(Edns {
                udp_payload_size: self.payload_size(),
                ..Edns::default()
            });
        }
        let mut bytes = Vec::new();
        // One question and one OPT record without options: nothing in
        // them can exceed a wire limit, so emitting cannot fail.
        let _ = m.emit(&mut bytes);
        let sent = Sent {
            server,
            id,
            question: question.clone(),
        };
        (sent, bytes)
    }

    fn payload_size(&self) -> u16 {
        self.options.udp_payload_size.max(CLASSIC_UDP_SIZE)
    }

    /// Asks one server, [`Options::attempts`] times over UDP at most, and
    /// over TCP when the answer is truncated.
    async fn ask(&self, server: SocketAddr, question: &Question) -> Result<Answer, ResolveError> {
        let attempts = self.options.attempts.max(1);
        let mut edns = true;
        let mut sent_count = 0u8;
        let mut last = None;
        while sent_count < attempts {
            sent_count += 1;
            let (sent, query) = self.prepare(server, question, edns);
            let deadline = self.time.now() + self.options.timeout;
            let buf_size = usize::from(self.payload_size());
            let outcome =
                udp_exchange(&self.stack, &self.time, &sent, &query, buf_size, deadline).await?;
            let message = match outcome {
                UdpOutcome::Answer(m) => m,
                UdpOutcome::Silent(rejected) => {
                    last = rejected;
                    continue;
                }
            };
            let message = if message.header.tc {
                let (sent, query) = self.prepare(server, question, edns);
                let deadline = self.time.now() + self.options.tcp_timeout;
                tcp_exchange(&self.stack, &self.time, &sent, &query, deadline).await?
            } else {
                message
            };
            let rcode = message.rcode();
            if rcode == Rcode::NOERROR || rcode == Rcode::NXDOMAIN {
                return Answer::from_message(question, &message, self.options.max_cname_chain);
            }
            if edns && message.edns.is_none() && (rcode == Rcode::FORMERR || rcode == Rcode::NOTIMP)
            {
                // RFC 6891 §7: a server that does not know EDNS; ask it
                // plainly, without spending an attempt (this happens once).
                edns = false;
                sent_count -= 1;
                continue;
            }
            return Err(ResolveError::ServerFailure { server, rcode });
        }
        Err(match last {
            None => ResolveError::Timeout {
                server,
                attempts: sent_count,
            },
            Some(Rejected::Mismatch(reason)) => ResolveError::Mismatched { server, reason },
            Some(Rejected::Malformed(source)) => ResolveError::Malformed { server, source },
        })
    }
}
