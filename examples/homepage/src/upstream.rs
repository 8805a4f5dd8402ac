//! Where new commits come from: an [`Upstream`] brings the served branch
//! up to date, the appliance then serves whatever the branch holds.

use mirage_irmin::StoreError;

/// Splits a remote as given on a command line, `URL[#BRANCH]`, into the
/// URL and the branch, if one is named.
pub fn split_remote(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('#') {
        Some((url, branch)) => (url, Some(branch)),
        None => (spec, None),
    }
}

/// Brings new commits into the local branch the appliance serves.
#[allow(async_fn_in_trait)]
pub trait Upstream {
    /// Updates the local branch from its source. Returns a one-line
    /// description of what happened, for the log and the webhook's answer.
    async fn pull(&self) -> Result<String, PullError>;
}

/// Why a pull failed. The appliance goes on serving what it has.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The local repository could not be read or written.
    #[error("local repository: {0}")]
    Store(#[from] StoreError),
    /// The remote could not be reached or refused the fetch.
    #[error("fetching from {remote}: {source}")]
    Fetch {
        /// The remote's URL.
        remote: String,
        /// What went wrong.
        source: Box<dyn std::error::Error + 'static>,
    },
}

/// The branch lives in a repository that others write to directly (a bare
/// repository that `git push` targets, on the same disk): there is nothing
/// to fetch, the branch head is simply read again.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedRepository;

impl Upstream for SharedRepository {
    async fn pull(&self) -> Result<String, PullError> {
        Ok(String::from("reading the branch in place"))
    }
}

/// The branch is pulled from a Git remote (`git://` or smart `http://`)
/// into a local repository, over the appliance's own `Stack`. The local
/// branch mirrors the remote's: the appliance serves what operators push,
/// including rewritten history. A remote named by host name is resolved
/// again for every pull, so a server that moves is followed.
pub struct Remote<S, B, C, R> {
    stack: S,
    repo: mirage_irmin::Repo<B, C>,
    url: String,
    resolver: R,
    branch: String,
}

impl<S, B, C, R> Remote<S, B, C, R> {
    /// Pulls `branch` of `url` (as written: its host is resolved with
    /// `resolver` at each pull) into `repo` through `stack`.
    pub fn new(
        stack: S,
        repo: mirage_irmin::Repo<B, C>,
        url: impl Into<String>,
        resolver: R,
        branch: impl Into<String>,
    ) -> Self {
        Remote {
            stack,
            repo,
            url: url.into(),
            resolver,
            branch: branch.into(),
        }
    }
}

impl<S, B, C, R> Upstream for Remote<S, B, C, R>
where
    S: mirage_core::Stack,
    B: mirage_irmin::Backend,
    C: mirage_core::WallClock,
    R: mirage_core::Resolver,
{
    async fn pull(&self) -> Result<String, PullError> {
        use mirage_irmin::sync::{PullMode, Pulled, Url};
        let url = Url::resolve(&self.url, &self.resolver)
            .await
            .map_err(|e| PullError::Fetch {
                remote: self.url.clone(),
                source: Box::new(e),
            })?;
        let info = mirage_irmin::Info::new(
            mirage_irmin::Author::new("homepage", "homepage@localhost"),
            "pull",
        );
        match self
            .repo
            .pull(&self.stack, &url, &self.branch, PullMode::Mirror, info)
            .await
        {
            Ok(Pulled::UpToDate(at)) => Ok(format!("{} is at {at}", self.url)),
            Ok(Pulled::Moved { to, .. }) | Ok(Pulled::Merged(to)) => {
                Ok(format!("fetched {to} from {}", self.url))
            }
            Err(e) => Err(PullError::Fetch {
                remote: self.url.clone(),
                source: Box::new(e),
            }),
        }
    }
}

#[cfg(test)]
mod test {
    use super::split_remote;

    #[test]
    fn test_a_remote_is_resolved_at_each_pull() {
        use super::{PullError, Remote, Upstream};
        use mirage_core::mem::{MemInternet, MemResolver, Simulation};
        use mirage_irmin::{HashKind, MemBackend, Repo};

        let mut sim = Simulation::new(3);
        let host = MemInternet::new().host(["10.0.0.1".parse().unwrap()]);
        let repo = Repo::new(MemBackend::new(HashKind::Sha1), sim.clock());
        let names = MemResolver::new();
        let remote = Remote::new(
            host,
            repo,
            "git://git.example.test/site.git",
            names.clone(),
            "main",
        );
        // Unknown name: the pull fails on resolution, before any connection.
        let err = sim.block_on(remote.pull()).unwrap().unwrap_err();
        let PullError::Fetch {
            remote: url,
            source,
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(url, "git://git.example.test/site.git");
        assert!(source.to_string().contains("git.example.test"), "{source}");
        // Once the name resolves (to an address nobody serves), the pull
        // gets as far as connecting: the name was looked up again.
        names.insert("git.example.test", ["10.0.0.9".parse().unwrap()]);
        let err = sim.block_on(remote.pull()).unwrap().unwrap_err();
        assert!(err.to_string().contains("10.0.0.9"), "{err}");
    }

    #[test]
    fn test_split_remote() {
        assert_eq!(split_remote("git://h/r.git"), ("git://h/r.git", None));
        assert_eq!(
            split_remote("git://h/r.git#live"),
            ("git://h/r.git", Some("live"))
        );
        assert_eq!(split_remote("git://h/r.git#"), ("git://h/r.git", Some("")));
    }
}
