//! UDP and TCP together on one address: the whole server as one future.

use std::cell::RefCell;
use std::net::SocketAddr;

use std::time::Duration;

use futures::future::{Either, select};
use mirage_core::{Key, KvRw, Stack, StackError, Time, UdpSocket, WallClock};

use super::primary::{Changes, Primary, PrimaryOptions};
use super::respond::{Options, Responder};
use super::secondary::run_secondary;
use super::tcp::{TcpOptions, serve_tcp};
use super::udp::serve_udp;
use super::zoneset::Zones;
use crate::tsig::Signer;
use crate::wire::{Class, Header, Message, Name, Opcode, Question, Type};
use crate::zone::ZONE_SUFFIX;

/// Everything [`serve`] can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServeOptions {
    /// Answering choices (payload size, memo size).
    pub responder: Options,
    /// TCP limits.
    pub tcp: TcpOptions,
}

/// Returned by [`serve`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The UDP socket could not be bound.
    #[error("cannot bind UDP {addr}: {source}")]
    BindUdp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: StackError,
    },
    /// The TCP listener could not be bound.
    #[error("cannot listen on TCP {addr}: {source}")]
    BindTcp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: StackError,
    },
    /// The UDP socket stopped working.
    #[error("UDP socket failed: {0}")]
    Udp(StackError),
    /// The TCP listener stopped working.
    #[error("TCP listener failed: {0}")]
    Tcp(StackError),
}

/// Serves the zones in `zones` on UDP and TCP at `addr` until either side
/// fails. Swapping the zone set in `zones` takes effect at the next query.
pub async fn serve<S: Stack, T: Time>(
    stack: &S,
    time: &T,
    addr: SocketAddr,
    zones: Zones,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let udp = stack
        .udp_bind(addr)
        .await
        .map_err(|source| ServeError::BindUdp { addr, source })?;
    // With port 0 the UDP socket picked the port; TCP takes the same one.
    let addr = mirage_core::UdpSocket::local_addr(&udp);
    let tcp = stack
        .tcp_listen(addr)
        .await
        .map_err(|source| ServeError::BindTcp { addr, source })?;
    let responder = RefCell::new(Responder::new(zones, options.responder));
    let u = std::pin::pin!(serve_udp(&udp, &responder));
    let t = std::pin::pin!(serve_tcp(&tcp, time, &responder, options.tcp));
    match select(u, t).await {
        Either::Left((r, _)) => r.map_err(ServeError::Udp),
        Either::Right((r, _)) => r.map_err(ServeError::Tcp),
    }
}

/// Serves `zones` on UDP and TCP at `addr` as a primary: TSIG, AXFR and
/// IXFR, dynamic UPDATE and NOTIFY as `primary.policy` allows. A zone
/// changed by an update (or a new copy of a secondary zone) is written to
/// `store` (when given) as `ORIGIN.zone`; when a zone's serial changes (by update or by a swap of
/// `zones`), the secondaries of its policy are sent a NOTIFY (RFC 1996),
/// sent up to three times, 2, 4 and 8 s apart, until answered. The zones
/// of `primary.secondary` are copied from their primaries and kept fresh
/// ([`run_secondary`]), a NOTIFY allowed by a zone's `notify_from` prompting
/// a check.
pub async fn serve_primary<S: Stack, C: Time + WallClock, K: KvRw>(
    stack: &S,
    clock: &C,
    addr: SocketAddr,
    zones: Zones,
    primary: PrimaryOptions,
    options: ServeOptions,
    store: Option<&K>,
) -> Result<(), ServeError> {
    let udp = stack
        .udp_bind(addr)
        .await
        .map_err(|source| ServeError::BindUdp { addr, source })?;
    let addr = UdpSocket::local_addr(&udp);
    let tcp = stack
        .tcp_listen(addr)
        .await
        .map_err(|source| ServeError::BindTcp { addr, source })?;
    let policy = primary.policy.clone();
    let secondary = primary.secondary.clone();
    let handler = Primary::new(
        Responder::new(zones.clone(), options.responder),
        zones.clone(),
        primary,
        clock,
    );
    let changes = handler.changes();
    let handler = RefCell::new(handler);
    let u = std::pin::pin!(serve_udp(&udp, &handler));
    let t = std::pin::pin!(serve_tcp(&tcp, clock, &handler, options.tcp));
    let watch = std::pin::pin!(async {
        // Zone sets swapped by someone else (a reload) are noticed here.
        loop {
            clock.sleep(Duration::from_secs(1)).await;
            handler.borrow_mut().observe();
        }
    });
    let write = std::pin::pin!(write_back(&changes, &zones, store));
    let notify = std::pin::pin!(notify_loop(&changes, &zones, &policy, &udp, clock));
    let copy = std::pin::pin!(async {
        if secondary.zones.is_empty() {
            std::future::pending::<()>().await;
        }
        run_secondary(stack, clock, zones.clone(), secondary, &changes).await
    });
    let tasks = select(select(watch, copy), select(write, notify));
    match select(select(u, t), tasks).await {
        Either::Left((Either::Left((r, _)), _)) => r.map_err(ServeError::Udp),
        Either::Left((Either::Right((r, _)), _)) => r.map_err(ServeError::Tcp),
        Either::Right(_) => Ok(()),
    }
}

/// The store key of a zone's file: its origin without the final dot, then `.zone`.
pub fn zone_key(origin: &Name) -> Option<Key> {
    let text = origin.to_string();
    let stem = text.strip_suffix('.').unwrap_or(&text);
    Key::parse(&format!("{stem}{ZONE_SUFFIX}")).ok()
}

/// Writes each zone changed by an update to `store`, as a master file.
async fn write_back<K: KvRw>(changes: &Changes, zones: &Zones, store: Option<&K>) {
    loop {
        for origin in changes.updated().await {
            let (Some(store), Some(key)) = (store, zone_key(&origin)) else {
                continue;
            };
            let Some(text) = zones.current().get(&origin).map(|z| z.to_string()) else {
                continue;
            };
            match store.set(&key, text.into_bytes().into()).await {
                Ok(()) => log::info!("wrote {origin} to {key}"),
                Err(e) => log::warn!("cannot write {origin} to {key}: {e}"),
            }
        }
    }
}

/// Sends a NOTIFY for each zone whose serial changed to the secondaries
/// its policy names.
async fn notify_loop<U: UdpSocket, C: Time + WallClock>(
    changes: &Changes,
    zones: &Zones,
    policy: &super::policy::Policy,
    udp: &U,
    clock: &C,
) {
    let mut id: u16 = (clock.now_posix().nanos & 0xFFFF) as u16;
    loop {
        let batch = changes.new_serials().await;
        changes.clear_acks();
        for origin in batch {
            let rules = policy.for_zone(&origin);
            let Some(soa) = zones.current().get(&origin).map(|z| z.soa_record().clone()) else {
                continue;
            };
            for &target in &rules.notify {
                id = id.wrapping_add(1);
                let msg = Message {
                    header: Header {
                        id,
                        opcode: Opcode::NOTIFY.0,
                        aa: true,
                        ..Header::default()
                    },
                    questions: vec![Question {
                        name: origin.clone(),
                        qtype: Type::SOA,
                        qclass: Class::IN,
                    }],
                    answers: vec![soa.clone()],
                    ..Message::default()
                };
                let mut bytes = Vec::new();
                if msg.emit(&mut bytes).is_err() {
                    continue;
                }
                if let Some(key) = rules.notify_key.as_ref().and_then(|k| policy.keys.get(k)) {
                    let now = clock.now_posix().secs.max(0) as u64;
                    if Signer::new(key.clone(), Vec::new())
                        .sign(&mut bytes, now)
                        .is_err()
                    {
                        continue;
                    }
                }
                for attempt in 0..3u32 {
                    if udp.send_to(&bytes, target).await.is_err() {
                        log::warn!("cannot send NOTIFY for {origin} to {target}");
                    }
                    clock.sleep(Duration::from_secs(2 << attempt.min(2))).await;
                    if changes.take_ack(id) {
                        log::info!("NOTIFY for {origin} acknowledged by {target}");
                        break;
                    }
                }
            }
        }
    }
}
