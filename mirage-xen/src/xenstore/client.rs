//! [`XenStore`]: a XenStore client over the `xenstore_domain_interface` page.
//!
//! Requests are encoded whole into an outgoing queue (so concurrent
//! requests never interleave on the ring) and pumped into the 1 KiB request
//! ring as space allows; replies are reassembled from the response ring and
//! matched to their request by `req_id`. Watch events are queued per token.
//! Any task waiting on the store pumps both directions, so no background
//! task is needed. A corrupt ring or stream breaks the connection: every
//! waiter gets the error, none hangs.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::mem::offset_of;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};

use super::wire::{
    self, Decoder, Errno, Message, MsgType, Permission, WatchEvent, WireError, check_path,
    strings_payload, write_payload,
};
use crate::abi::Port;
use crate::abi::xs_wire::{XENSTORE_RING_SIZE, XenstoreDomainInterface};
use crate::evtchn::EventChannels;
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::{Page, mb, wmb};

const REQ: usize = offset_of!(XenstoreDomainInterface, req);
const RSP: usize = offset_of!(XenstoreDomainInterface, rsp);
const REQ_CONS: usize = offset_of!(XenstoreDomainInterface, req_cons);
const REQ_PROD: usize = offset_of!(XenstoreDomainInterface, req_prod);
const RSP_CONS: usize = offset_of!(XenstoreDomainInterface, rsp_cons);
const RSP_PROD: usize = offset_of!(XenstoreDomainInterface, rsp_prod);

/// Watch events kept per token; beyond it the oldest is dropped (a watch
/// says "look again", so a reader that fell behind loses nothing by
/// seeing fewer of them).
pub const MAX_QUEUED_WATCH_EVENTS: usize = 256;

/// How often [`XenStore::transaction`] retries on `EAGAIN`.
pub const MAX_TRANSACTION_ATTEMPTS: u32 = 64;

/// Why a XenStore operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XsError {
    /// xenstored answered with an error (`ENOENT`, `EAGAIN`, …).
    #[error("xenstored answered {0}")]
    Errno(Errno),
    /// A request or reply was malformed.
    #[error("malformed XenStore message: {0}")]
    Wire(#[from] WireError),
    /// xenstored published ring indices that cannot be right; the
    /// connection is unusable.
    #[error("the XenStore {ring} ring indices are corrupt (producer {prod}, consumer {cons})")]
    RingCorrupt {
        /// `"request"` or `"response"`.
        ring: &'static str,
        /// The producer index.
        prod: u32,
        /// The consumer index.
        cons: u32,
    },
    /// A reply arrived for no outstanding request.
    #[error("xenstored replied to request {0}, which is not outstanding")]
    UnknownReply(u32),
    /// A reply of the wrong type.
    #[error("xenstored answered a {expected:?} request with {got:?}")]
    UnexpectedReply {
        /// The request type.
        expected: MsgType,
        /// The reply type.
        got: MsgType,
    },
    /// A value is not what the caller asked to parse it as.
    #[error("the value at {path} is not a valid {what}")]
    BadValue {
        /// The node.
        path: String,
        /// What it should have been.
        what: &'static str,
    },
    /// The event channel to xenstored failed.
    #[error("XenStore event channel: {0}")]
    Hypercall(#[from] HypercallError),
}

#[derive(Default)]
struct State {
    next_req_id: u32,
    out: VecDeque<u8>,
    decoder: Decoder,
    waiting: BTreeMap<u32, Option<Waker>>,
    replies: BTreeMap<u32, Message>,
    abandoned: BTreeSet<u32>,
    watches: BTreeMap<String, (VecDeque<WatchEvent>, Option<Waker>)>,
    broken: Option<XsError>,
}

impl State {
    fn break_with(&mut self, e: XsError) {
        if self.broken.is_none() {
            self.broken = Some(e);
        }
        for w in self.waiting.values_mut().filter_map(Option::take) {
            w.wake();
        }
        for (_, w) in self.watches.values_mut() {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
    }
}

/// A XenStore connection.
pub struct XenStore<H> {
    events: Rc<EventChannels<H>>,
    page: Page,
    port: Port,
    state: RefCell<State>,
}

impl<H> core::fmt::Debug for XenStore<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XenStore")
            .field("port", &self.port)
            .finish()
    }
}

/// Removes an abandoned request's bookkeeping if its future is dropped.
struct Pending<'a, H> {
    store: &'a XenStore<H>,
    id: u32,
    done: bool,
}

impl<H> Drop for Pending<'_, H> {
    fn drop(&mut self) {
        if !self.done {
            let mut st = self.store.state.borrow_mut();
            st.waiting.remove(&self.id);
            if st.replies.remove(&self.id).is_none() {
                st.abandoned.insert(self.id);
            }
        }
    }
}

impl<H: Hypervisor> XenStore<H> {
    /// A client on the ring `page` (from `HVM_PARAM_STORE_PFN`) and the
    /// already-connected `port` (`HVM_PARAM_STORE_EVTCHN`).
    pub fn new(events: Rc<EventChannels<H>>, page: Page, port: Port) -> Result<Self, XsError> {
        events.bind_existing(port)?;
        Ok(XenStore {
            events,
            page,
            port,
            state: RefCell::new(State::default()),
        })
    }

    /// The event-channel port to xenstored.
    pub fn port(&self) -> Port {
        self.port
    }

    /// The error that broke the connection, if any.
    pub fn broken(&self) -> Option<XsError> {
        self.state.borrow().broken.clone()
    }

    /// Moves bytes both ways on the ring and dispatches complete replies.
    fn pump(&self) {
        let mut notify = false;
        {
            let mut st = self.state.borrow_mut();
            if st.broken.is_some() {
                return;
            }
            // Requests out.
            let cons = self.page.atomic_u32(REQ_CONS).load(Ordering::Acquire);
            let prod = self.page.read_u32(REQ_PROD);
            let used = prod.wrapping_sub(cons);
            if used > XENSTORE_RING_SIZE {
                st.break_with(XsError::RingCorrupt {
                    ring: "request",
                    prod,
                    cons,
                });
                return;
            }
            let n = ((XENSTORE_RING_SIZE - used) as usize).min(st.out.len());
            if n > 0 {
                for i in 0..n {
                    let b = st.out.pop_front().unwrap_or(0);
                    let idx = prod.wrapping_add(i as u32) & (XENSTORE_RING_SIZE - 1);
                    self.page.write_u8(REQ + idx as usize, b);
                }
                wmb();
                self.page
                    .atomic_u32(REQ_PROD)
                    .store(prod.wrapping_add(n as u32), Ordering::Release);
                notify = true;
            }
            // Replies in.
            let prod = self.page.atomic_u32(RSP_PROD).load(Ordering::Acquire);
            let cons = self.page.read_u32(RSP_CONS);
            let avail = prod.wrapping_sub(cons);
            if avail > XENSTORE_RING_SIZE {
                st.break_with(XsError::RingCorrupt {
                    ring: "response",
                    prod,
                    cons,
                });
                return;
            }
            if avail > 0 {
                let mut buf = alloc::vec![0u8; avail as usize];
                for (i, b) in buf.iter_mut().enumerate() {
                    let idx = cons.wrapping_add(i as u32) & (XENSTORE_RING_SIZE - 1);
                    *b = self.page.read_u8(RSP + idx as usize);
                }
                mb();
                self.page
                    .atomic_u32(RSP_CONS)
                    .store(prod, Ordering::Release);
                st.decoder.push(&buf);
                notify = true;
            }
            loop {
                match st.decoder.next_message() {
                    Ok(Some(m)) => dispatch(&mut st, m),
                    Ok(None) => break,
                    Err(e) => {
                        st.break_with(e.into());
                        break;
                    }
                }
                if st.broken.is_some() {
                    break;
                }
            }
        }
        if notify && let Err(e) = self.events.notify(self.port) {
            self.state.borrow_mut().break_with(e.into());
        }
    }

    /// Sends a request and waits for its reply (an `XS_ERROR` reply is
    /// returned as [`XsError::Errno`]).
    async fn request(&self, ty: MsgType, tx_id: u32, payload: Vec<u8>) -> Result<Message, XsError> {
        let id = {
            let mut st = self.state.borrow_mut();
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            st.next_req_id = st.next_req_id.wrapping_add(1);
            while st.waiting.contains_key(&st.next_req_id) || st.abandoned.contains(&st.next_req_id)
            {
                st.next_req_id = st.next_req_id.wrapping_add(1);
            }
            let id = st.next_req_id;
            let msg = Message::new(ty, id, tx_id, payload)?;
            st.out.extend(msg.encode());
            st.waiting.insert(id, None);
            id
        };
        let mut guard = Pending {
            store: self,
            id,
            done: false,
        };
        let reply = poll_fn(|cx| {
            self.events.register(self.port, cx.waker());
            self.pump();
            let mut st = self.state.borrow_mut();
            if let Some(m) = st.replies.remove(&id) {
                st.waiting.remove(&id);
                return Poll::Ready(Ok(m));
            }
            if let Some(e) = &st.broken {
                let e = e.clone();
                st.waiting.remove(&id);
                return Poll::Ready(Err(e));
            }
            st.waiting.insert(id, Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
        guard.done = true;
        let reply = reply?;
        match reply.error() {
            Some(Ok(errno)) => Err(XsError::Errno(errno)),
            Some(Err(e)) => Err(e.into()),
            None if reply.ty != ty => Err(XsError::UnexpectedReply {
                expected: ty,
                got: reply.ty,
            }),
            None => Ok(reply),
        }
    }

    fn ops(&self, tx_id: u32) -> Transaction<'_, H> {
        Transaction { store: self, tx_id }
    }

    /// Reads a node's value.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, XsError> {
        self.ops(0).read(path).await
    }

    /// Reads a node's value as UTF-8.
    pub async fn read_string(&self, path: &str) -> Result<String, XsError> {
        self.ops(0).read_string(path).await
    }

    /// Reads and parses a node's value (`FromStr`), naming `what` in errors.
    pub async fn read_parsed<T: core::str::FromStr>(
        &self,
        path: &str,
        what: &'static str,
    ) -> Result<T, XsError> {
        self.ops(0).read_parsed(path, what).await
    }

    /// Writes a node, creating it and its parents.
    pub async fn write(&self, path: &str, value: &[u8]) -> Result<(), XsError> {
        self.ops(0).write(path, value).await
    }

    /// Creates a node with an empty value if it does not exist.
    pub async fn mkdir(&self, path: &str) -> Result<(), XsError> {
        self.ops(0).mkdir(path).await
    }

    /// Removes a node and everything under it.
    pub async fn rm(&self, path: &str) -> Result<(), XsError> {
        self.ops(0).rm(path).await
    }

    /// Lists a node's children.
    pub async fn directory(&self, path: &str) -> Result<Vec<String>, XsError> {
        self.ops(0).directory(path).await
    }

    /// A node's permissions.
    pub async fn get_perms(&self, path: &str) -> Result<Vec<Permission>, XsError> {
        self.ops(0).get_perms(path).await
    }

    /// Registers a watch on `path` (and everything under it); events arrive
    /// on [`XenStore::next_watch_event`] with `token`. xenstored fires each
    /// new watch once straight away.
    pub async fn watch(&self, path: &str, token: &str) -> Result<(), XsError> {
        check_path(path)?;
        self.state
            .borrow_mut()
            .watches
            .entry(String::from(token))
            .or_default();
        let payload = strings_payload(&[path, token])?;
        let r = self.request(MsgType::Watch, 0, payload).await;
        if r.is_err() {
            self.state.borrow_mut().watches.remove(token);
        }
        wire::parse_ok(&r?.payload)?;
        Ok(())
    }

    /// Removes a watch and drops its queued events.
    pub async fn unwatch(&self, path: &str, token: &str) -> Result<(), XsError> {
        check_path(path)?;
        let payload = strings_payload(&[path, token])?;
        let r = self.request(MsgType::Unwatch, 0, payload).await;
        self.state.borrow_mut().watches.remove(token);
        wire::parse_ok(&r?.payload)?;
        Ok(())
    }

    /// Takes a queued event for `token` or registers `cx` to be woken.
    pub fn poll_watch_event(
        &self,
        token: &str,
        cx: &mut Context<'_>,
    ) -> Poll<Result<WatchEvent, XsError>> {
        self.events.register(self.port, cx.waker());
        self.pump();
        let mut st = self.state.borrow_mut();
        if let Some(e) = &st.broken {
            return Poll::Ready(Err(e.clone()));
        }
        let Some((q, w)) = st.watches.get_mut(token) else {
            return Poll::Ready(Err(XsError::Errno(Errno::ENOENT)));
        };
        match q.pop_front() {
            Some(ev) => Poll::Ready(Ok(ev)),
            None => {
                *w = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Waits for the next event of the watch with `token`.
    pub async fn next_watch_event(&self, token: &str) -> Result<WatchEvent, XsError> {
        poll_fn(|cx| self.poll_watch_event(token, cx)).await
    }

    /// Starts a transaction; finish it with [`Transaction::commit`] or
    /// [`Transaction::abort`].
    pub async fn start_transaction(&self) -> Result<Transaction<'_, H>, XsError> {
        let r = self
            .request(MsgType::TransactionStart, 0, alloc::vec![0])
            .await?;
        let tx_id = wire::parse_tx_id(&r.payload)?;
        Ok(Transaction { store: self, tx_id })
    }

    /// Runs `body` in a transaction and commits, starting over while
    /// xenstored answers `EAGAIN` (another writer got in first), at most
    /// [`MAX_TRANSACTION_ATTEMPTS`] times. An error from `body` aborts.
    pub async fn transaction<T>(
        &self,
        mut body: impl AsyncFnMut(&Transaction<'_, H>) -> Result<T, XsError>,
    ) -> Result<T, XsError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let tx = self.start_transaction().await?;
            let value = match body(&tx).await {
                Ok(v) => v,
                Err(e) => {
                    // The body's error matters more than a failed abort.
                    let _ = tx.abort().await;
                    return Err(e);
                }
            };
            match tx.commit().await {
                Ok(()) => return Ok(value),
                Err(XsError::Errno(Errno::EAGAIN)) if attempts < MAX_TRANSACTION_ATTEMPTS => {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn dispatch(st: &mut State, m: Message) {
    if m.ty == MsgType::WatchEvent {
        match wire::parse_watch_event(&m.payload) {
            Ok(ev) => {
                // Events for a token we no longer watch are late and harmless.
                if let Some((q, w)) = st.watches.get_mut(&ev.token) {
                    if q.len() >= MAX_QUEUED_WATCH_EVENTS {
                        q.pop_front();
                    }
                    q.push_back(ev);
                    if let Some(w) = w.take() {
                        w.wake();
                    }
                }
            }
            Err(e) => st.break_with(e.into()),
        }
        return;
    }
    if st.abandoned.remove(&m.req_id) {
        return;
    }
    match st.waiting.get_mut(&m.req_id) {
        Some(w) => {
            if let Some(w) = w.take() {
                w.wake();
            }
            st.replies.insert(m.req_id, m);
        }
        None => st.break_with(XsError::UnknownReply(m.req_id)),
    }
}

/// Operations inside a transaction (or outside one, with id 0).
pub struct Transaction<'a, H> {
    store: &'a XenStore<H>,
    tx_id: u32,
}

impl<H> core::fmt::Debug for Transaction<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Transaction({})", self.tx_id)
    }
}

impl<H: Hypervisor> Transaction<'_, H> {
    /// The transaction id.
    pub fn id(&self) -> u32 {
        self.tx_id
    }

    async fn path_op(&self, ty: MsgType, path: &str) -> Result<Message, XsError> {
        check_path(path)?;
        self.store
            .request(ty, self.tx_id, strings_payload(&[path])?)
            .await
    }

    /// Reads a node's value.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, XsError> {
        Ok(self.path_op(MsgType::Read, path).await?.payload)
    }

    /// Reads a node's value as UTF-8.
    pub async fn read_string(&self, path: &str) -> Result<String, XsError> {
        String::from_utf8(self.read(path).await?).map_err(|_| XsError::BadValue {
            path: String::from(path),
            what: "UTF-8 string",
        })
    }

    /// Reads and parses a node's value.
    pub async fn read_parsed<T: core::str::FromStr>(
        &self,
        path: &str,
        what: &'static str,
    ) -> Result<T, XsError> {
        self.read_string(path)
            .await?
            .trim()
            .parse()
            .map_err(|_| XsError::BadValue {
                path: String::from(path),
                what,
            })
    }

    /// Writes a node.
    pub async fn write(&self, path: &str, value: &[u8]) -> Result<(), XsError> {
        let r = self
            .store
            .request(MsgType::Write, self.tx_id, write_payload(path, value)?)
            .await?;
        Ok(wire::parse_ok(&r.payload)?)
    }

    /// Creates a node.
    pub async fn mkdir(&self, path: &str) -> Result<(), XsError> {
        Ok(wire::parse_ok(
            &self.path_op(MsgType::Mkdir, path).await?.payload,
        )?)
    }

    /// Removes a node and its children.
    pub async fn rm(&self, path: &str) -> Result<(), XsError> {
        Ok(wire::parse_ok(
            &self.path_op(MsgType::Rm, path).await?.payload,
        )?)
    }

    /// Lists a node's children.
    pub async fn directory(&self, path: &str) -> Result<Vec<String>, XsError> {
        Ok(wire::parse_strings(
            &self.path_op(MsgType::Directory, path).await?.payload,
        )?)
    }

    /// A node's permissions.
    pub async fn get_perms(&self, path: &str) -> Result<Vec<Permission>, XsError> {
        Ok(wire::parse_perms(
            &self.path_op(MsgType::GetPerms, path).await?.payload,
        )?)
    }

    /// Commits; `Err(XsError::Errno(Errno::EAGAIN))` means it conflicted
    /// and nothing was written.
    pub async fn commit(self) -> Result<(), XsError> {
        self.end(true).await
    }

    /// Abandons the transaction.
    pub async fn abort(self) -> Result<(), XsError> {
        self.end(false).await
    }

    async fn end(self, commit: bool) -> Result<(), XsError> {
        let r = self
            .store
            .request(
                MsgType::TransactionEnd,
                self.tx_id,
                strings_payload(&[if commit { "T" } else { "F" }])?,
            )
            .await?;
        Ok(wire::parse_ok(&r.payload)?)
    }
}
