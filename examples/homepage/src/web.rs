//! The HTTP side: the site of the served commit, plus the webhook
//! `POST /hook` that makes the appliance pull at once.

use std::rc::Rc;

use bytes::Bytes;
use mirage_core::Clock;
use mirage_http::{Body, Handler, Method, Request, Response};
use mirage_irmin::Backend;

use crate::unikernel::{Appliance, ReloadError, Reloaded};
use crate::upstream::Upstream;

/// The path of the webhook.
pub const HOOK_PATH: &str = "/hook";
/// The header that carries the webhook's secret.
pub const HOOK_SECRET_HEADER: &str = "x-hook-secret";

/// The appliance's HTTP handler.
pub struct Web<B, C, U> {
    appliance: Rc<Appliance<B, C, U>>,
}

impl<B, C, U> Web<B, C, U> {
    /// The handler for `appliance`.
    pub fn new(appliance: Rc<Appliance<B, C, U>>) -> Self {
        Web { appliance }
    }
}

/// Compares secrets in time independent of where they differ.
fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn text(status: u16, body: String) -> Response<'static> {
    Response::new(status)
        .with_header("content-type", "text/plain; charset=utf-8")
        .with_header("cache-control", "no-store")
        .with_body(Body::Full(Bytes::from(body)))
}

impl<B: Backend + 'static, C: Clock + 'static, U: Upstream> Web<B, C, U> {
    async fn hook(&self, req: &Request) -> Response<'static> {
        let Some(secret) = self.appliance.hook_secret() else {
            return Response::error(404);
        };
        if req.method != Method::Post {
            return Response::error(405).with_header("allow", "POST");
        }
        let given = req.headers.get(HOOK_SECRET_HEADER).unwrap_or_default();
        if !secrets_equal(given, secret.as_bytes()) {
            log::warn!("webhook called without the right secret");
            return Response::error(403);
        }
        match self.appliance.reload().await {
            Ok(Reloaded::Unchanged(at)) => text(200, format!("unchanged: serving {at}\n")),
            Ok(Reloaded::Updated { from, to }) => {
                text(200, format!("updated: serving {to} (was {from})\n"))
            }
            Err(e @ ReloadError::Content { .. }) => text(422, format!("{e}\n")),
            Err(e) => text(502, format!("{e}\n")),
        }
    }
}

impl<B: Backend + 'static, C: Clock + 'static, U: Upstream> Handler for Web<B, C, U> {
    async fn handle(&self, req: Request) -> Response<'_> {
        if req.path() == HOOK_PATH {
            return self.hook(&req).await;
        }
        // The request is answered from one commit's site even if a reload
        // swaps in another while the body streams.
        let site = self.appliance.site();
        site.respond_owned(&req.head).await
    }
}
