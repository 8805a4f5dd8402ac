//! The appliance, generic over its devices: it knows only the mirage-core
//! signatures and a mirage-irmin repository, so the same `start` runs on
//! host sockets, on our own TCP/IP stack, or in a simulation.
//!
//! It serves the zones in `zones/` over DNS (UDP and TCP) and the files in
//! `site/` over HTTP, all from one commit of one branch. When the branch
//! moves — found by polling, or at once through the webhook — the new
//! commit is loaded and checked, then swapped in atomically: zones and site
//! change together, and a commit whose zones do not load is reported and
//! skipped while the last good content goes on being served.

use core::cell::{Cell, RefCell};
use core::net::SocketAddr;
use core::time::Duration;
use std::rc::Rc;

use futures::lock::Mutex;
use mirage_core::{Clock, Stack, Subtree};
use mirage_dns::server::{ServeError, ServeOptions, Zones, serve};
use mirage_http::{Server, SiteOptions, StaticSite};
use mirage_irmin::{Backend, ObjectId, Repo, Store, StoreError};

use crate::content::{Content, ContentError};
use crate::upstream::{PullError, Upstream};
use crate::web::Web;

/// What the appliance is told at boot.
#[derive(Debug, Clone)]
pub struct Config {
    /// The branch to serve.
    pub branch: String,
    /// Where to serve HTTP.
    pub http: SocketAddr,
    /// Where to serve DNS (UDP and TCP).
    pub dns: SocketAddr,
    /// How often to pull; `None` for never (the webhook still works).
    pub poll: Option<Duration>,
    /// The secret `POST /hook` must carry; `None` disables the webhook.
    pub hook_secret: Option<String>,
    /// HTTP limits and timeouts.
    pub http_config: mirage_http::Config,
    /// DNS limits and timeouts.
    pub dns_options: ServeOptions,
    /// Index file, 404 page and the like for the site.
    pub site_options: SiteOptions,
}

/// How many times [`Appliance::new`] pulls while the branch has no commit
/// and the pulls fail, before it gives up with [`Error::EmptyBranch`].
pub const INITIAL_PULL_ATTEMPTS: u32 = 8;

/// The longest pause between those pulls (they start 1 s apart and double).
pub const MAX_INITIAL_PULL_PAUSE: Duration = Duration::from_secs(30);

/// Why the appliance stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The branch does not exist or has no commit.
    #[error("branch {0:?} has no commit to serve")]
    EmptyBranch(String),
    /// The repository could not be read.
    #[error("repository: {0}")]
    Store(#[from] StoreError),
    /// The branch's content at boot cannot be served.
    #[error("cannot serve the current content: {0}")]
    Content(#[from] ContentError),
    /// The DNS server stopped.
    #[error("DNS server: {0}")]
    Dns(#[from] ServeError),
    /// The HTTP listener could not be opened or failed.
    #[error("HTTP server on {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// The stack's reason.
        source: mirage_core::StackError,
    },
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The branch had not moved.
    Unchanged(ObjectId),
    /// The content of a new commit is being served.
    Updated {
        /// The commit served before.
        from: ObjectId,
        /// The commit served now.
        to: ObjectId,
    },
}

/// Why a reload left the content as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Pulling from the upstream failed and the branch did not move.
    #[error(transparent)]
    Pull(#[from] PullError),
    /// The repository could not be read.
    #[error("repository: {0}")]
    Store(#[from] StoreError),
    /// The branch was deleted or emptied.
    #[error("the branch has no commit; keeping {0}")]
    EmptyBranch(ObjectId),
    /// The new commit cannot be served.
    #[error("{source}; still serving {serving}")]
    Content {
        /// Why.
        source: ContentError,
        /// The commit still served.
        serving: ObjectId,
    },
}

/// The site type the appliance serves: `site/` of a commit.
pub type Site<B, C> = StaticSite<Subtree<Store<B, C>>>;

/// The running appliance's state, shared by the DNS server, the HTTP
/// server, the webhook and the poller.
pub struct Appliance<B, C, U> {
    repo: Repo<B, C>,
    branch: Store<B, C>,
    upstream: U,
    zones: Zones,
    site: RefCell<Rc<Site<B, C>>>,
    site_options: SiteOptions,
    serving: Cell<ObjectId>,
    known_bad: Cell<Option<ObjectId>>,
    reloading: Mutex<()>,
    hook_secret: Option<String>,
}

impl<B: Backend, C: Clock, U: Upstream> Appliance<B, C, U> {
    /// Pulls, then loads the branch's current content; fails if it cannot
    /// be served. While the branch has no commit and pulls fail, pulls
    /// again (see [`INITIAL_PULL_ATTEMPTS`]).
    pub async fn new(
        repo: Repo<B, C>,
        upstream: U,
        config: &Config,
    ) -> Result<Appliance<B, C, U>, Error> {
        let branch = repo.branch(&config.branch)?;
        // With nothing to serve yet, a failed first pull (the remote not
        // reachable yet, as when a guest boots before its Git server) is
        // tried again with a growing pause, INITIAL_PULL_ATTEMPTS in all.
        let mut pause = Duration::from_secs(1);
        let mut attempt = 1;
        let head = loop {
            let pulled = upstream.pull().await;
            if let Err(e) = &pulled {
                log::warn!("initial pull failed, serving the local branch: {e}");
            }
            match branch.head().await? {
                Some(head) => break head,
                None if pulled.is_err() && attempt < INITIAL_PULL_ATTEMPTS => {
                    log::warn!(
                        "branch {:?} has no commit yet; pulling again in {pause:?} (attempt {} of {INITIAL_PULL_ATTEMPTS})",
                        config.branch,
                        attempt + 1
                    );
                    repo.clock().sleep(pause).await;
                    pause = (pause * 2).min(MAX_INITIAL_PULL_PAUSE);
                    attempt += 1;
                }
                None => return Err(Error::EmptyBranch(config.branch.clone())),
            }
        };
        let content = Content::load(&repo, head).await?;
        log::info!(
            "serving commit {head} of {:?}: {} zone(s)",
            config.branch,
            content.zones.len()
        );
        Ok(Appliance {
            zones: Zones::new(content.zones),
            site: RefCell::new(Rc::new(StaticSite::with_options(
                content.site,
                config.site_options.clone(),
            ))),
            site_options: config.site_options.clone(),
            serving: Cell::new(head),
            known_bad: Cell::new(None),
            reloading: Mutex::new(()),
            hook_secret: config.hook_secret.clone(),
            repo,
            branch,
            upstream,
        })
    }

    /// The commit being served.
    pub fn serving(&self) -> ObjectId {
        self.serving.get()
    }

    /// The zones being served (a handle; swapped on reload).
    pub fn zones(&self) -> &Zones {
        &self.zones
    }

    /// The site being served now.
    pub fn site(&self) -> Rc<Site<B, C>> {
        self.site.borrow().clone()
    }

    /// The secret the webhook expects, if it is enabled.
    pub fn hook_secret(&self) -> Option<&str> {
        self.hook_secret.as_deref()
    }

    /// Pulls, then serves the branch's new head if it moved and its content
    /// loads. Concurrent calls wait for one another.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let pulled = self.upstream.pull().await;
        let serving = self.serving.get();
        let Some(head) = self.branch.head().await? else {
            return Err(ReloadError::EmptyBranch(serving));
        };
        if head == serving {
            pulled?;
            return Ok(Reloaded::Unchanged(head));
        }
        if let Err(e) = &pulled {
            log::warn!("pull failed, but the branch moved: {e}");
        }
        let content = match Content::load(&self.repo, head).await {
            Ok(c) => c,
            Err(source) => {
                if self.known_bad.replace(Some(head)) != Some(head) {
                    log::error!("not serving {head}: {source}; still serving {serving}");
                }
                return Err(ReloadError::Content { source, serving });
            }
        };
        self.zones.swap(content.zones);
        *self.site.borrow_mut() = Rc::new(StaticSite::with_options(
            content.site,
            self.site_options.clone(),
        ));
        self.serving.set(head);
        log::info!("now serving commit {head} (was {serving})");
        Ok(Reloaded::Updated {
            from: serving,
            to: head,
        })
    }

    /// Reloads every `every`, forever.
    async fn poll(&self, time: &C, every: Duration) {
        loop {
            time.sleep(every).await;
            match self.reload().await {
                Ok(Reloaded::Unchanged(_)) => {}
                Ok(Reloaded::Updated { .. }) => {}
                Err(ReloadError::Content { .. }) => {} // Logged once per bad commit.
                Err(e) => log::warn!("poll: {e}"),
            }
        }
    }
}

/// Serves the branch's content over DNS and HTTP on `stack`, reloading it
/// when the branch moves, until a server fails.
pub async fn start<S, B, C, U>(
    stack: S,
    clock: C,
    repo: Repo<B, C>,
    upstream: U,
    config: Config,
) -> Result<(), Error>
where
    S: Stack,
    B: Backend + 'static,
    C: Clock + Clone + 'static,
    U: Upstream,
{
    let appliance = Rc::new(Appliance::new(repo, upstream, &config).await?);
    run(&stack, &clock, appliance, &config).await
}

/// Serves an already loaded [`Appliance`]; see [`start`].
pub async fn run<S, B, C, U>(
    stack: &S,
    clock: &C,
    appliance: Rc<Appliance<B, C, U>>,
    config: &Config,
) -> Result<(), Error>
where
    S: Stack,
    B: Backend + 'static,
    C: Clock + 'static,
    U: Upstream,
{
    let http_addr = config.http;
    let listener = stack
        .tcp_listen(http_addr)
        .await
        .map_err(|source| Error::Http {
            addr: http_addr,
            source,
        })?;
    log::info!(
        "HTTP on http://{}/",
        mirage_core::TcpListener::local_addr(&listener)
    );
    let web = Server::with_config(Web::new(appliance.clone()), config.http_config.clone());
    let http = async {
        web.serve_listener(&listener, clock)
            .await
            .map_err(|source| Error::Http {
                addr: http_addr,
                source,
            })
    };
    let dns = async {
        serve(
            stack,
            clock,
            config.dns,
            appliance.zones().clone(),
            config.dns_options,
        )
        .await
        .map_err(Error::from)
    };
    let poll = async {
        match config.poll {
            Some(every) if !every.is_zero() => appliance.poll(clock, every).await,
            _ => futures::future::pending::<()>().await,
        }
        Ok::<(), Error>(())
    };
    futures::try_join!(http, dns, poll).map(|_| ())
}
