//! One version of the appliance's content: the zones and the site of a
//! single commit, loaded and checked together so they are swapped together.

use mirage_core::{Key, Subtree, WallClock};
use mirage_dns::server::ZoneSet;
use mirage_dns::zone::{LoadError, load_zones};
use mirage_irmin::{Backend, ObjectId, Repo, Store};

/// The directory of the repository that holds the zone files (`ORIGIN.zone`).
pub const ZONES_DIR: &str = "zones";
/// The directory of the repository that is the web root.
pub const SITE_DIR: &str = "site";

/// The content of one commit, ready to serve.
pub struct Content<B, C> {
    /// The commit it was loaded from.
    pub commit: ObjectId,
    /// Every zone in `zones/`, checked.
    pub zones: ZoneSet,
    /// The web root: `site/` of the commit.
    pub site: Subtree<Store<B, C>>,
}

impl<B, C> core::fmt::Debug for Content<B, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Content")
            .field("commit", &self.commit)
            .field("zones", &self.zones.len())
            .finish()
    }
}

/// Why a commit's content cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// A zone file is malformed or fails the zone checks.
    #[error("commit {commit}: {source}")]
    Zone {
        /// The commit.
        commit: ObjectId,
        /// What is wrong, with file and line.
        source: LoadError,
    },
    /// The commit has no zone file at all.
    #[error("commit {commit}: no zone files (ORIGIN.zone) in {ZONES_DIR}/")]
    NoZones {
        /// The commit.
        commit: ObjectId,
    },
}

fn dir(name: &str) -> Key {
    Key::parse(name).expect("a constant directory name is a valid key")
}

impl<B: Backend, C: WallClock> Content<B, C> {
    /// Loads and checks the content of `commit`. Nothing is served from it
    /// unless this succeeds.
    pub async fn load(repo: &Repo<B, C>, commit: ObjectId) -> Result<Self, ContentError>
    where
        Store<B, C>: Clone,
    {
        let snapshot = repo.at_commit(commit);
        let zone_dir = Subtree::new(snapshot.clone(), dir(ZONES_DIR));
        let zones = load_zones(&zone_dir, &Key::root())
            .await
            .map_err(|source| ContentError::Zone { commit, source })?;
        if zones.is_empty() {
            return Err(ContentError::NoZones { commit });
        }
        Ok(Content {
            commit,
            zones: ZoneSet::new(zones),
            site: Subtree::new(snapshot, dir(SITE_DIR)),
        })
    }
}
