//! Where new commits come from: an [`Upstream`] brings the served branch
//! up to date, the appliance then serves whatever the branch holds.

use mirage_irmin::StoreError;

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
