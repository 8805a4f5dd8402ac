//! [`Client`]: `ls_refs`, `fetch`, `clone` and `push` against a remote URL,
//! storing and reading objects through an [`ObjectStore`].
//!
//! The client never moves references itself: `fetch` returns the remote
//! references it fetched (the caller updates its own), `push` sends the
//! correct old values and turns every `ng` in the server's report into an
//! [`Error::Rejected`]. A fetched pack is verified (checksum, every
//! object's id, limits, deltas resolved, connectivity of the wanted
//! objects) before its first object is written to the store.

mod fetch;
mod push;

use mirage_core::Stack;

use crate::error::Error;
use crate::pack::Limits;
use crate::protocol::v2::{self, RemoteRef};
use crate::store::ObjectStore;
use crate::transport::{Service, Session};
use crate::url::Url;

pub use fetch::{FetchOutcome, FetchRequest};
pub use push::{Expect, PushOutcome, RefUpdate};

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
    /// Whether to accept thin packs when fetching (smaller transfers; the
    /// missing delta bases are read from the store).
    pub thin_pack: bool,
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
            thin_pack: true,
            atomic_push: false,
        }
    }
}

/// A Git client over a [`Stack`].
#[derive(Debug)]
pub struct Client<'s, S> {
    stack: &'s S,
    options: Options,
}

pub(crate) fn store_err<E: core::error::Error + Send + Sync + 'static>(e: E) -> Error {
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
}
