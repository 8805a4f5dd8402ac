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
/// including rewritten history.
pub struct Remote<S, B, C> {
    stack: S,
    repo: mirage_irmin::Repo<B, C>,
    url: mirage_irmin::sync::Url,
    branch: String,
}

impl<S, B, C> Remote<S, B, C> {
    /// Pulls `branch` of `url` into `repo` through `stack`.
    pub fn new(
        stack: S,
        repo: mirage_irmin::Repo<B, C>,
        url: mirage_irmin::sync::Url,
        branch: impl Into<String>,
    ) -> Self {
        Remote {
            stack,
            repo,
            url,
            branch: branch.into(),
        }
    }
}

impl<S, B, C> Upstream for Remote<S, B, C>
where
    S: mirage_core::Stack,
    B: mirage_irmin::Backend,
    C: mirage_core::WallClock,
{
    async fn pull(&self) -> Result<String, PullError> {
        use mirage_irmin::sync::{PullMode, Pulled};
        let info = mirage_irmin::Info::new(
            mirage_irmin::Author::new("homepage", "homepage@localhost"),
            "pull",
        );
        match self
            .repo
            .pull(&self.stack, &self.url, &self.branch, PullMode::Mirror, info)
            .await
        {
            Ok(Pulled::UpToDate(at)) => Ok(format!("{} is at {at}", self.url)),
            Ok(Pulled::Moved { to, .. }) | Ok(Pulled::Merged(to)) => {
                Ok(format!("fetched {to} from {}", self.url))
            }
            Err(e) => Err(PullError::Fetch {
                remote: self.url.to_string(),
                source: Box::new(e),
            }),
        }
    }
}

#[cfg(test)]
mod test {
    use super::split_remote;

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
