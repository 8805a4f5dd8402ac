//! [`Client`]: `ls_refs`, `fetch`, `clone` and `push` against a remote URL,
//! storing and reading objects through an [`ObjectStore`].
//!
//! The client never moves references itself: `fetch` returns the remote
//! references it fetched (the caller updates its own), `push` sends the
//! correct old values and turns every `ng` in the server's report into an
//! [`Error::Rejected`]. A fetched pack is verified (checksum, every
//! object's id, limits, deltas resolved, connectivity of the wanted
//! objects) before its first object is written to the store.

use std::collections::{HashMap, HashSet};

use gix_hash::{ObjectId, oid};
use mirage_core::Stack;

use crate::error::{Error, ProtocolError, RejectedUpdate};
use crate::pack::{self, Limits, PackObject};
use crate::pktline::{self, Packet};
use crate::protocol::receive_pack::{self, Command};
use crate::protocol::v2::{self, FetchArgs, RemoteRef};
use crate::store::{ObjectKind, ObjectStore};
use crate::transport::{Service, Session};
use crate::url::Url;
use crate::walk;

/// Choices for a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Bounds on received packs.
    pub limits: Limits,
    /// Most negotiation rounds before sending `done` regardless.
    pub max_rounds: usize,
    /// `have`s sent without any acknowledgment before giving up
    /// negotiating (git's default is 256).
    pub max_in_vain: usize,
    /// Whether to ask the server to send no progress messages.
    pub no_progress: bool,
    /// Whether a push of several references is all-or-nothing (the
    /// `atomic` capability; an error if the server lacks it).
    pub atomic_push: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            max_rounds: 64,
            max_in_vain: 256,
            no_progress: false,
            atomic_push: false,
        }
    }
}

/// Which references to fetch and what we already have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchRequest {
    /// Reference patterns: full names (`HEAD`, `refs/heads/main`) or
    /// prefixes ending in `*` (`refs/heads/*`). Mapping remote names to
    /// local ones is the caller's business.
    pub refs: Vec<String>,
    /// Objects to fetch besides those of the matched references.
    pub extra_wants: Vec<ObjectId>,
    /// The tips of our history (local branch heads): negotiation offers
    /// them and their ancestors as `have`s.
    pub local_tips: Vec<ObjectId>,
    /// `Some(n)`: a shallow fetch of the last `n` commits (`deepen n`).
    pub deepen: Option<u32>,
    /// Our shallow commits, if our history is shallow.
    pub shallow: Vec<ObjectId>,
}

impl FetchRequest {
    /// Everything `git clone` fetches: `HEAD`, branches and tags.
    pub fn all() -> Self {
        FetchRequest {
            refs: vec!["HEAD".into(), "refs/heads/*".into(), "refs/tags/*".into()],
            ..FetchRequest::default()
        }
    }

    fn matches(&self, name: &str) -> bool {
        self.refs.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        })
    }

    fn prefixes(&self) -> Vec<String> {
        self.refs
            .iter()
            .map(|p| p.strip_suffix('*').unwrap_or(p).to_string())
            .collect()
    }
}

/// What a fetch brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOutcome {
    /// The remote references that matched the request, with their values
    /// (all of whose objects are now in the store).
    pub refs: Vec<RemoteRef>,
    /// Shallow boundary commits the server reported (record them: their
    /// parents are not in the store).
    pub shallow: Vec<ObjectId>,
    /// Commits the server says are no longer shallow.
    pub unshallow: Vec<ObjectId>,
    /// Objects received and stored.
    pub objects: usize,
    /// Size of the received pack in bytes (0 if none was needed).
    pub pack_bytes: usize,
    /// Negotiation rounds (fetch requests sent).
    pub rounds: usize,
}

impl FetchOutcome {
    /// The branch the remote `HEAD` points to, if it is symbolic.
    pub fn head_target(&self) -> Option<&str> {
        self.refs
            .iter()
            .find(|r| r.name == "HEAD")
            .and_then(|r| r.symref_target.as_deref())
    }

    /// The value of the remote reference `name`.
    pub fn get(&self, name: &str) -> Option<ObjectId> {
        self.refs.iter().find(|r| r.name == name).and_then(|r| r.id)
    }
}

/// What the remote reference must hold for an update to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Whatever it holds (the advertised value is sent as the old value).
    Any,
    /// It must not exist.
    Absent,
    /// It must hold this value (a lease: fails if someone pushed meanwhile).
    Value(ObjectId),
}

/// One reference to update in a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The remote reference's full name.
    pub name: String,
    /// Its new value; `None` deletes it.
    pub new: Option<ObjectId>,
    /// What it must hold now.
    pub expect: Expect,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// References updated: name, old value, new value.
    pub updated: Vec<(String, Option<ObjectId>, Option<ObjectId>)>,
    /// References that already had the requested value (nothing sent).
    pub up_to_date: Vec<String>,
    /// Objects sent in the pack.
    pub objects_sent: usize,
}

/// A Git client over a [`Stack`].
#[derive(Debug)]
pub struct Client<'s, S> {
    stack: &'s S,
    options: Options,
}

/// Reads through to the store for objects not in a verified pack.
struct Overlay<'a, O> {
    pack: HashMap<ObjectId, &'a PackObject>,
    store: &'a O,
}

impl<O: ObjectStore> ObjectStore for Overlay<'_, O> {
    type Error = O::Error;
    fn contains(&self, id: &oid) -> Result<bool, Self::Error> {
        if self.pack.contains_key(id) {
            return Ok(true);
        }
        self.store.contains(id)
    }
    fn read(&self, id: &oid) -> Result<Option<(ObjectKind, Vec<u8>)>, Self::Error> {
        match self.pack.get(id) {
            Some(o) => Ok(Some((o.kind, o.data.clone()))),
            None => self.store.read(id),
        }
    }
    fn write(&self, kind: ObjectKind, data: &[u8]) -> Result<ObjectId, Self::Error> {
        self.store.write(kind, data)
    }
}

/// Whether `name` may be sent as a reference in a push command: under
/// `refs/`, with no control characters, spaces or the sequences git forbids
/// (`..`, `@{`, a trailing `/`, `.` or `.lock`).
fn valid_refname(name: &str) -> bool {
    name.starts_with("refs/")
        && name.len() > 5
        && !name
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b"~^:?*[\\".contains(&b))
        && !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.ends_with(".lock")
}

fn store_err<E: core::error::Error + Send + Sync + 'static>(e: E) -> Error {
    Error::Store(Box::new(e))
}

impl<'s, S: Stack> Client<'s, S> {
    /// A client with default [`Options`].
    pub fn new(stack: &'s S) -> Self {
        Client {
            stack,
            options: Options::default(),
        }
    }

    /// A client with `options`.
    pub fn with_options(stack: &'s S, options: Options) -> Self {
        Client { stack, options }
    }

    /// Lists the remote's references under `prefixes` (all if empty).
    pub async fn ls_refs(&self, url: &Url, prefixes: &[String]) -> Result<Vec<RemoteRef>, Error> {
        let mut session = Session::connect(self.stack, url, Service::UploadPack, true).await?;
        let caps = v2::read_capabilities(&mut session).await?;
        session.send(&v2::ls_refs_request(&caps, prefixes)?).await?;
        let refs = v2::read_ls_refs(&mut session).await?;
        session.finish().await;
        Ok(refs)
    }

    /// Clones: fetches `HEAD`, all branches and all tags into `store`.
    pub async fn clone<O: ObjectStore>(
        &self,
        url: &Url,
        store: &O,
        progress: &mut dyn FnMut(&[u8]),
    ) -> Result<FetchOutcome, Error> {
        self.fetch(url, store, &FetchRequest::all(), progress).await
    }

    /// Fetches the references `request` names and every object they reach
    /// that `store` lacks; see [`FetchOutcome`]. On error nothing was
    /// written to the store.
    pub async fn fetch<O: ObjectStore>(
        &self,
        url: &Url,
        store: &O,
        request: &FetchRequest,
        progress: &mut dyn FnMut(&[u8]),
    ) -> Result<FetchOutcome, Error> {
        let mut session = Session::connect(self.stack, url, Service::UploadPack, true).await?;
        let caps = v2::read_capabilities(&mut session).await?;
        session
            .send(&v2::ls_refs_request(&caps, &request.prefixes())?)
            .await?;
        let refs: Vec<RemoteRef> = v2::read_ls_refs(&mut session)
            .await?
            .into_iter()
            .filter(|r| request.matches(&r.name))
            .collect();

        let mut wants = Vec::new();
        let mut seen = HashSet::new();
        for id in refs
            .iter()
            .filter_map(|r| r.id)
            .chain(request.extra_wants.iter().copied())
        {
            if seen.insert(id)
                && (request.deepen.is_some() || !store.contains(&id).map_err(store_err)?)
            {
                wants.push(id);
            }
        }
        let mut outcome = FetchOutcome {
            refs,
            ..FetchOutcome::default()
        };
        if wants.is_empty() {
            session.finish().await;
            return Ok(outcome);
        }

        let mut tips = Vec::new();
        for t in &request.local_tips {
            if store.contains(t).map_err(store_err)? {
                tips.push(*t);
            }
        }
        let mut walk = walk::HaveWalk::new(tips);
        let mut common: Vec<ObjectId> = Vec::new();
        let mut in_vain = 0usize;
        let mut batch = 16usize;
        let response = loop {
            outcome.rounds += 1;
            let mut new_haves = Vec::new();
            while new_haves.len() < batch {
                match walk.next(store)? {
                    Some(id) if !common.contains(&id) => new_haves.push(id),
                    Some(_) => {}
                    None => break,
                }
            }
            let done = new_haves.is_empty()
                || in_vain >= self.options.max_in_vain
                || outcome.rounds >= self.options.max_rounds;
            let mut haves = common.clone();
            haves.extend_from_slice(&new_haves);
            let args = FetchArgs {
                wants: wants.clone(),
                haves,
                done,
                deepen: request.deepen,
                shallow: request.shallow.clone(),
                no_progress: self.options.no_progress,
            };
            session.send(&v2::fetch_request(&caps, &args)?).await?;
            let resp =
                v2::read_fetch_response(&mut session, self.options.limits.max_pack_bytes, progress)
                    .await?;
            if resp.pack.is_some() {
                break resp;
            }
            if done {
                return Err(ProtocolError::UnexpectedPacket {
                    what: "flush packet",
                    context: "fetch response after done",
                }
                .into());
            }
            let before = common.len();
            for ack in &resp.acks {
                if !common.contains(ack) {
                    common.push(*ack);
                    walk.mark_common(store, *ack)?;
                }
            }
            if common.len() == before {
                in_vain += new_haves.len();
            } else {
                in_vain = 0;
            }
            batch = (batch * 2).min(256);
        };
        session.finish().await;

        let pack_bytes = response.pack.unwrap_or_default();
        let verified = pack::verify(&pack_bytes, &self.options.limits, store)?;
        let overlay = Overlay {
            pack: verified.objects.iter().map(|o| (o.id, o)).collect(),
            store,
        };
        let new: HashSet<ObjectId> = overlay.pack.keys().copied().collect();
        let mut shallow = request.shallow.clone();
        shallow.extend_from_slice(&response.shallow);
        shallow.retain(|s| !response.unshallow.contains(s));
        walk::check_connected(&overlay, &wants, &shallow, &new)?;
        verified.store_into(store)?;

        outcome.shallow = response.shallow;
        outcome.unshallow = response.unshallow;
        outcome.objects = verified.objects.len();
        outcome.pack_bytes = pack_bytes.len();
        Ok(outcome)
    }

    /// Pushes `updates`, sending the objects they need from `store`. Every
    /// update is checked against the advertised value first (see
    /// [`Expect`]); a mismatch, or any `ng` the server reports, is an
    /// [`Error::Rejected`] naming each rejected reference and its reason.
    pub async fn push<O: ObjectStore>(
        &self,
        url: &Url,
        store: &O,
        updates: &[RefUpdate],
        progress: &mut dyn FnMut(&[u8]),
    ) -> Result<PushOutcome, Error> {
        let mut session = Session::connect(self.stack, url, Service::ReceivePack, false).await?;
        let adv = receive_pack::read_advertisement(&mut session).await?;
        let mut outcome = PushOutcome::default();
        let mut commands = Vec::new();
        let mut rejected = Vec::new();
        for u in updates {
            if !valid_refname(&u.name) {
                rejected.push(RejectedUpdate {
                    refname: u.name.clone(),
                    reason: "invalid reference name".into(),
                });
                continue;
            }
            let remote = adv.get(&u.name);
            let ok = match u.expect {
                Expect::Any => true,
                Expect::Absent => remote.is_none(),
                Expect::Value(v) => remote == Some(v),
            };
            if !ok {
                let has = remote
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "nothing".into());
                rejected.push(RejectedUpdate {
                    refname: u.name.clone(),
                    reason: format!("stale info (remote has {has})"),
                });
            } else if remote == u.new {
                outcome.up_to_date.push(u.name.clone());
            } else if u.new.is_none() && !adv.has("delete-refs") {
                rejected.push(RejectedUpdate {
                    refname: u.name.clone(),
                    reason: "the server does not allow deleting references".into(),
                });
            } else {
                commands.push(Command {
                    old: remote,
                    new: u.new,
                    name: u.name.clone(),
                });
            }
        }
        if !rejected.is_empty() || commands.is_empty() {
            // Tell receive-pack there is nothing to do.
            let mut flush = Vec::new();
            pktline::encode(Packet::Flush, &mut flush)?;
            let _ = session.send(&flush).await;
            return if rejected.is_empty() {
                Ok(outcome)
            } else {
                Err(Error::Rejected(rejected))
            };
        }

        let deletes = commands.iter().any(|c| c.new.is_none());
        let mut caps = receive_pack::choose_capabilities(&adv, deletes);
        if self.options.atomic_push {
            if !adv.has("atomic") {
                return Err(ProtocolError::MissingCapability("atomic").into());
            }
            caps.push("atomic".into());
        }
        let sideband = caps.iter().any(|c| c == "side-band-64k");
        let mut body = receive_pack::commands_request(&commands, &caps)?;
        if commands.iter().any(|c| c.new.is_some()) {
            let tips: Vec<ObjectId> = commands.iter().filter_map(|c| c.new).collect();
            let remote: Vec<ObjectId> = adv.refs.iter().map(|(_, id)| *id).collect();
            let ids = walk::objects_to_push(store, &tips, &remote)?;
            let mut objects = Vec::with_capacity(ids.len());
            for id in &ids {
                objects.push(
                    store
                        .read(id)
                        .map_err(store_err)?
                        .ok_or(Error::MissingObject(*id))?,
                );
            }
            let pack = pack::write_pack(
                objects.iter().map(|(k, d)| (*k, d.as_slice())),
                objects.len(),
            )?;
            body.extend_from_slice(&pack);
            outcome.objects_sent = ids.len();
        }
        session.send(&body).await?;
        let report = receive_pack::read_report(&mut session, sideband, progress).await?;
        session.finish().await;
        if let Err(reason) = report.unpack {
            return Err(Error::UnpackFailed(reason));
        }
        for c in &commands {
            match report.refs.iter().find(|(n, _)| *n == c.name) {
                Some((_, Ok(()))) => outcome.updated.push((c.name.clone(), c.old, c.new)),
                Some((_, Err(reason))) => rejected.push(RejectedUpdate {
                    refname: c.name.clone(),
                    reason: reason.clone(),
                }),
                None => rejected.push(RejectedUpdate {
                    refname: c.name.clone(),
                    reason: "the server reported no status".into(),
                }),
            }
        }
        if rejected.is_empty() {
            Ok(outcome)
        } else {
            Err(Error::Rejected(rejected))
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_refnames() {
        for good in ["refs/heads/main", "refs/tags/v1.0", "refs/heads/a/b-c_d"] {
            assert!(valid_refname(good), "{good}");
        }
        for bad in [
            "main",
            "refs/",
            "refs/heads/a b",
            "refs/heads/a\nb",
            "refs/heads/a..b",
            "refs/heads/x.lock",
            "refs/heads/x/",
            "refs/heads/a\0",
            "refs/heads/@{u}",
        ] {
            assert!(!valid_refname(bad), "{bad:?}");
        }
    }
}
