//! [`Xenstored`]: a simulated XenStore daemon.
//!
//! A tree of nodes with values and permissions, watches (fired on writes
//! and removals at or under the watched path, and once on registration),
//! and transactions (a snapshot of the tree; the commit fails with `EAGAIN`
//! if anything committed since it started, or when a test injected
//! failures). Guests talk to it over their ring page with
//! [`Xenstored::serve`]; dom0 backends call it directly.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::mem::offset_of;
use core::sync::atomic::Ordering;
use core::task::{Poll, Waker};

use super::SimDomain;
use crate::abi::xs_wire::{XENSTORE_RING_SIZE, XenstoreDomainInterface};
use crate::abi::{DomId, Port};
use crate::evtchn::EventChannels;
use crate::page::{Page, mb, wmb};
use crate::xenstore::wire::{
    Access, Decoder, Errno, Message, MsgType, Permission, check_path, parse_strings,
    strings_payload,
};

#[derive(Debug, Clone)]
struct Node {
    value: Vec<u8>,
    perms: Vec<Permission>,
}

type Tree = BTreeMap<String, Node>;

struct Tx {
    tree: Tree,
    base: u64,
    changed: BTreeSet<String>,
}

struct WatchReg {
    conn: u32,
    path: String,
    abs: String,
    token: String,
}

struct Conn {
    domid: DomId,
    events: VecDeque<(String, String)>,
    waker: Option<Waker>,
}

struct Store {
    tree: Tree,
    generation: u64,
    txs: BTreeMap<u32, Tx>,
    next_tx: u32,
    watches: Vec<WatchReg>,
    conns: BTreeMap<u32, Conn>,
    next_conn: u32,
    change_wakers: Vec<Waker>,
    inject_eagain: u32,
    conflicts: u64,
}

/// The simulated daemon; clones share the store.
#[derive(Clone)]
pub struct Xenstored {
    store: Rc<RefCell<Store>>,
}

impl core::fmt::Debug for Xenstored {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Xenstored")
    }
}

impl Default for Xenstored {
    fn default() -> Self {
        Xenstored::new()
    }
}

fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

fn is_under(path: &str, dir: &str) -> bool {
    path == dir
        || dir == "/"
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

fn ensure(tree: &mut Tree, path: &str, owner: DomId) {
    if tree.contains_key(path) {
        return;
    }
    if let Some(p) = parent(path) {
        ensure(tree, p, owner);
    }
    tree.insert(
        String::from(path),
        Node {
            value: Vec::new(),
            perms: alloc::vec![Permission {
                domid: owner,
                access: Access::None
            }],
        },
    );
}

fn children(tree: &Tree, path: &str) -> Option<Vec<String>> {
    tree.get(path)?;
    let prefix = if path == "/" {
        String::from("/")
    } else {
        format!("{path}/")
    };
    Some(
        tree.range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/') && k.len() > prefix.len())
            .map(|(k, _)| String::from(&k[prefix.len()..]))
            .collect(),
    )
}

impl Store {
    fn fire(&mut self, changed: &str) {
        for w in &self.watches {
            if is_under(changed, &w.abs) || is_under(&w.abs, changed) {
                let Some(c) = self.conns.get_mut(&w.conn) else {
                    continue;
                };
                let reported = if w.path.starts_with('/') {
                    String::from(changed)
                } else {
                    let home = format!("/local/domain/{}/", c.domid);
                    match changed.strip_prefix(&home) {
                        Some(rel) => String::from(rel),
                        None => String::from(changed),
                    }
                };
                c.events.push_back((reported, w.token.clone()));
                if let Some(wk) = c.waker.take() {
                    wk.wake();
                }
            }
        }
    }

    fn changed(&mut self, paths: &[String]) {
        self.generation += 1;
        for p in paths {
            self.fire(p);
        }
        for w in self.change_wakers.drain(..) {
            w.wake();
        }
    }

    fn tree_for(&mut self, tx: u32) -> Result<&mut Tree, Errno> {
        if tx == 0 {
            Ok(&mut self.tree)
        } else {
            self.txs
                .get_mut(&tx)
                .map(|t| &mut t.tree)
                .ok_or(Errno::ENOENT)
        }
    }

    fn note(&mut self, tx: u32, path: &str) {
        if tx == 0 {
            self.changed(&[String::from(path)]);
        } else if let Some(t) = self.txs.get_mut(&tx) {
            t.changed.insert(String::from(path));
        }
    }

    fn write(&mut self, tx: u32, path: &str, value: &[u8], owner: DomId) -> Result<(), Errno> {
        let tree = self.tree_for(tx)?;
        ensure(tree, path, owner);
        if let Some(n) = tree.get_mut(path) {
            n.value = value.to_vec();
        }
        self.note(tx, path);
        Ok(())
    }

    fn mkdir(&mut self, tx: u32, path: &str, owner: DomId) -> Result<(), Errno> {
        let tree = self.tree_for(tx)?;
        if tree.contains_key(path) {
            return Ok(());
        }
        ensure(tree, path, owner);
        self.note(tx, path);
        Ok(())
    }

    fn rm(&mut self, tx: u32, path: &str) -> Result<(), Errno> {
        if path == "/" {
            return Err(Errno::EINVAL);
        }
        let tree = self.tree_for(tx)?;
        if !tree.contains_key(path) {
            return Err(Errno::ENOENT);
        }
        tree.retain(|k, _| !is_under(k, path));
        self.note(tx, path);
        Ok(())
    }

    fn read(&mut self, tx: u32, path: &str) -> Result<Vec<u8>, Errno> {
        let tree = self.tree_for(tx)?;
        tree.get(path).map(|n| n.value.clone()).ok_or(Errno::ENOENT)
    }

    fn directory(&mut self, tx: u32, path: &str) -> Result<Vec<String>, Errno> {
        let tree = self.tree_for(tx)?;
        children(tree, path).ok_or(Errno::ENOENT)
    }

    fn perms(&mut self, tx: u32, path: &str) -> Result<Vec<Permission>, Errno> {
        let tree = self.tree_for(tx)?;
        tree.get(path).map(|n| n.perms.clone()).ok_or(Errno::ENOENT)
    }

    fn end(&mut self, tx: u32, commit: bool) -> Result<(), Errno> {
        let t = self.txs.remove(&tx).ok_or(Errno::ENOENT)?;
        if !commit {
            return Ok(());
        }
        if self.inject_eagain > 0 {
            self.inject_eagain -= 1;
            self.conflicts += 1;
            return Err(Errno::EAGAIN);
        }
        if t.base != self.generation {
            self.conflicts += 1;
            return Err(Errno::EAGAIN);
        }
        self.tree = t.tree;
        let changed: Vec<String> = t.changed.into_iter().collect();
        self.changed(&changed);
        Ok(())
    }
}

fn resolve(domid: DomId, path: &str) -> String {
    if path.starts_with('/') || path.starts_with('@') {
        String::from(path)
    } else {
        format!("/local/domain/{domid}/{path}")
    }
}

const REQ: usize = offset_of!(XenstoreDomainInterface, req);
const RSP: usize = offset_of!(XenstoreDomainInterface, rsp);
const REQ_CONS: usize = offset_of!(XenstoreDomainInterface, req_cons);
const REQ_PROD: usize = offset_of!(XenstoreDomainInterface, req_prod);
const RSP_CONS: usize = offset_of!(XenstoreDomainInterface, rsp_cons);
const RSP_PROD: usize = offset_of!(XenstoreDomainInterface, rsp_prod);

impl Xenstored {
    /// A daemon with just `/local/domain`.
    pub fn new() -> Self {
        let mut tree = Tree::new();
        ensure(&mut tree, "/local/domain", 0);
        Xenstored {
            store: Rc::new(RefCell::new(Store {
                tree,
                generation: 0,
                txs: BTreeMap::new(),
                next_tx: 1,
                watches: Vec::new(),
                conns: BTreeMap::new(),
                next_conn: 1,
                change_wakers: Vec::new(),
                inject_eagain: 0,
                conflicts: 0,
            })),
        }
    }

    /// Makes the next `n` transaction commits fail with `EAGAIN`.
    pub fn inject_eagain(&self, n: u32) {
        self.store.borrow_mut().inject_eagain = n;
    }

    /// Commits refused with `EAGAIN` so far.
    pub fn conflicts(&self) -> u64 {
        self.store.borrow().conflicts
    }

    /// Reads a node (absolute path).
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.store.borrow_mut().read(0, path).ok()
    }

    /// Reads a node as a string.
    pub fn read_string(&self, path: &str) -> Option<String> {
        String::from_utf8(self.read(path)?).ok()
    }

    /// Writes a node as dom0.
    pub fn write(&self, path: &str, value: &[u8]) {
        // Only a missing transaction fails, and this is not in one.
        let _ = self.store.borrow_mut().write(0, path, value, 0);
    }

    /// Removes a node and its children, if present.
    pub fn rm(&self, path: &str) {
        let _ = self.store.borrow_mut().rm(0, path);
    }

    /// Children of a node.
    pub fn directory(&self, path: &str) -> Option<Vec<String>> {
        self.store.borrow_mut().directory(0, path).ok()
    }

    /// A counter that moves on every committed change.
    pub fn generation(&self) -> u64 {
        self.store.borrow().generation
    }

    /// Wakes `waker` at the next committed change.
    pub fn register_change(&self, waker: &Waker) {
        let mut s = self.store.borrow_mut();
        if !s.change_wakers.iter().any(|w| w.will_wake(waker)) {
            s.change_wakers.push(waker.clone());
        }
    }

    /// Waits until the store changes after generation `since`.
    pub async fn changed_since(&self, since: u64) -> u64 {
        poll_fn(|cx| {
            let mut s = self.store.borrow_mut();
            if s.generation != since {
                Poll::Ready(s.generation)
            } else {
                s.change_wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Waits until `path` holds a value satisfying `pred`, returning it.
    pub async fn wait_for(&self, path: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        loop {
            let generation = self.generation();
            if let Some(v) = self.read_string(path)
                && pred(&v)
            {
                return v;
            }
            self.changed_since(generation).await;
        }
    }

    fn handle(&self, conn: u32, domid: DomId, m: &Message) -> Message {
        let reply = |ty: MsgType, payload: Vec<u8>| Message {
            ty,
            req_id: m.req_id,
            tx_id: m.tx_id,
            payload,
        };
        let err = |e: Errno| {
            reply(
                MsgType::Error,
                strings_payload(&[e.name()]).unwrap_or_default(),
            )
        };
        let ok = || reply(m.ty, b"OK\0".to_vec());
        let strings = match m.ty {
            MsgType::Write => {
                let Some(nul) = m.payload.iter().position(|&c| c == 0) else {
                    return err(Errno::EINVAL);
                };
                let Ok(path) = core::str::from_utf8(&m.payload[..nul]) else {
                    return err(Errno::EINVAL);
                };
                if check_path(path).is_err() {
                    return err(Errno::EINVAL);
                }
                let abs = resolve(domid, path);
                return match self.store.borrow_mut().write(
                    m.tx_id,
                    &abs,
                    &m.payload[nul + 1..],
                    domid,
                ) {
                    Ok(()) => ok(),
                    Err(e) => err(e),
                };
            }
            MsgType::TransactionStart => {
                let mut s = self.store.borrow_mut();
                let id = s.next_tx;
                s.next_tx += 1;
                let tx = Tx {
                    tree: s.tree.clone(),
                    base: s.generation,
                    changed: BTreeSet::new(),
                };
                s.txs.insert(id, tx);
                return reply(m.ty, format!("{id}\0").into_bytes());
            }
            _ => match parse_strings(&m.payload) {
                Ok(v) => v,
                Err(_) => return err(Errno::EINVAL),
            },
        };
        let arg = |i: usize| strings.get(i).map(String::as_str);
        let path = match arg(0) {
            Some(p) if m.ty == MsgType::TransactionEnd || check_path(p).is_ok() => p,
            _ => return err(Errno::EINVAL),
        };
        let abs = resolve(domid, path);
        let mut s = self.store.borrow_mut();
        let result: Result<Message, Errno> = match m.ty {
            MsgType::Read => s.read(m.tx_id, &abs).map(|v| reply(m.ty, v)),
            MsgType::Mkdir => s.mkdir(m.tx_id, &abs, domid).map(|()| ok()),
            MsgType::Rm => s.rm(m.tx_id, &abs).map(|()| ok()),
            MsgType::Directory => s.directory(m.tx_id, &abs).map(|v| {
                let refs: Vec<&str> = v.iter().map(String::as_str).collect();
                reply(m.ty, strings_payload(&refs).unwrap_or_default())
            }),
            MsgType::GetPerms => s.perms(m.tx_id, &abs).map(|v| {
                let w: Vec<String> = v.iter().map(Permission::to_wire).collect();
                let refs: Vec<&str> = w.iter().map(String::as_str).collect();
                reply(m.ty, strings_payload(&refs).unwrap_or_default())
            }),
            MsgType::Watch => match arg(1) {
                Some(token) => {
                    s.watches.push(WatchReg {
                        conn,
                        path: String::from(path),
                        abs: abs.clone(),
                        token: String::from(token),
                    });
                    if let Some(c) = s.conns.get_mut(&conn) {
                        c.events
                            .push_back((String::from(path), String::from(token)));
                    }
                    Ok(ok())
                }
                None => Err(Errno::EINVAL),
            },
            MsgType::Unwatch => match arg(1) {
                Some(token) => {
                    let before = s.watches.len();
                    s.watches
                        .retain(|w| !(w.conn == conn && w.path == path && w.token == token));
                    if s.watches.len() < before {
                        Ok(ok())
                    } else {
                        Err(Errno::ENOENT)
                    }
                }
                None => Err(Errno::EINVAL),
            },
            MsgType::TransactionEnd => match path {
                "T" => s.end(m.tx_id, true).map(|()| ok()),
                "F" => s.end(m.tx_id, false).map(|()| ok()),
                _ => Err(Errno::EINVAL),
            },
            _ => Err(Errno::ENOSYS),
        };
        result.unwrap_or_else(err)
    }

    /// Serves domain `guest` on its ring `page`, woken through dom0's
    /// `events` on `port`. Runs until the ring is corrupted or a malformed
    /// message arrives (as xenstored drops such a connection).
    pub fn serve(
        &self,
        events: Rc<EventChannels<SimDomain>>,
        page: Page,
        port: Port,
        guest: DomId,
    ) -> impl Future<Output = ()> + 'static {
        let this = self.clone();
        let conn = {
            let mut s = this.store.borrow_mut();
            let id = s.next_conn;
            s.next_conn += 1;
            s.conns.insert(
                id,
                Conn {
                    domid: guest,
                    events: VecDeque::new(),
                    waker: None,
                },
            );
            id
        };
        let mut decoder = Decoder::new();
        let mut out: VecDeque<u8> = VecDeque::new();
        async move {
            poll_fn(|cx| {
                events.register(port, cx.waker());
                if let Some(c) = this.store.borrow_mut().conns.get_mut(&conn) {
                    c.waker = Some(cx.waker().clone());
                }
                let mut moved = false;
                // Requests in.
                let prod = page.atomic_u32(REQ_PROD).load(Ordering::Acquire);
                let cons = page.read_u32(REQ_CONS);
                let avail = prod.wrapping_sub(cons);
                if avail > XENSTORE_RING_SIZE {
                    return Poll::Ready(());
                }
                if avail > 0 {
                    let mut buf = alloc::vec![0u8; avail as usize];
                    for (i, b) in buf.iter_mut().enumerate() {
                        let idx = cons.wrapping_add(i as u32) & (XENSTORE_RING_SIZE - 1);
                        *b = page.read_u8(REQ + idx as usize);
                    }
                    mb();
                    page.atomic_u32(REQ_CONS).store(prod, Ordering::Release);
                    decoder.push(&buf);
                    moved = true;
                }
                loop {
                    match decoder.next_message() {
                        Ok(Some(m)) => out.extend(this.handle(conn, guest, &m).encode()),
                        Ok(None) => break,
                        Err(_) => return Poll::Ready(()),
                    }
                }
                // Watch events queue behind replies.
                let evs: Vec<(String, String)> = this
                    .store
                    .borrow_mut()
                    .conns
                    .get_mut(&conn)
                    .map(|c| c.events.drain(..).collect())
                    .unwrap_or_default();
                for (path, token) in evs {
                    let payload = strings_payload(&[&path, &token]).unwrap_or_default();
                    out.extend(
                        Message {
                            ty: MsgType::WatchEvent,
                            req_id: 0,
                            tx_id: 0,
                            payload,
                        }
                        .encode(),
                    );
                }
                // Replies out.
                let cons = page.atomic_u32(RSP_CONS).load(Ordering::Acquire);
                let prod = page.read_u32(RSP_PROD);
                let used = prod.wrapping_sub(cons);
                if used > XENSTORE_RING_SIZE {
                    return Poll::Ready(());
                }
                let n = ((XENSTORE_RING_SIZE - used) as usize).min(out.len());
                if n > 0 {
                    for i in 0..n {
                        let idx = prod.wrapping_add(i as u32) & (XENSTORE_RING_SIZE - 1);
                        page.write_u8(RSP + idx as usize, out.pop_front().unwrap_or(0));
                    }
                    wmb();
                    page.atomic_u32(RSP_PROD)
                        .store(prod.wrapping_add(n as u32), Ordering::Release);
                    moved = true;
                }
                if moved {
                    // A failed notify means the guest is gone; it will not poll again.
                    let _ = events.notify(port);
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            })
            .await
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn tree_helpers() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert!(is_under("/a/b", "/a"));
        assert!(!is_under("/ab", "/a"));
        assert!(is_under("/a", "/"));
        let d = Xenstored::new();
        d.write("/local/domain/1/device/vif/0/state", b"1");
        d.write("/local/domain/1/device/vif/1/state", b"1");
        assert_eq!(
            d.directory("/local/domain/1/device/vif"),
            Some(alloc::vec![String::from("0"), String::from("1")])
        );
        assert_eq!(d.read("/local/domain/1/device"), Some(Vec::new()));
        d.rm("/local/domain/1/device");
        assert_eq!(d.read("/local/domain/1/device/vif/0/state"), None);
    }
}
