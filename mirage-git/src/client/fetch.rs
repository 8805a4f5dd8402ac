//! Fetching: `ls-refs`, then `fetch` requests until the server sends a
//! pack, which is verified and checked for connectivity before it is
//! stored.

use std::collections::{HashMap, HashSet};

use gix_hash::{ObjectId, oid};
use mirage_core::Stack;

use super::{Client, store_err};
use crate::error::{Error, ProtocolError};
use crate::pack::{self, PackObject};
use crate::protocol::v2::{self, FetchArgs, RemoteRef};
use crate::store::{ObjectKind, ObjectStore};
use crate::transport::{Service, Session};
use crate::url::Url;
use crate::walk;

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
    /// Delta bases of a thin pack that were read from the store.
    pub thin_bases: usize,
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

impl<'s, S: Stack> Client<'s, S> {
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
                thin_pack: self.options.thin_pack,
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
        outcome.thin_bases = verified.thin_bases;
        outcome.pack_bytes = pack_bytes.len();
        Ok(outcome)
    }
}
