//! The [`Handler`] trait: what the server calls for each request.

use crate::request::Request;
use crate::response::Response;

/// Answers requests. The response may borrow the handler (a body streamed
/// from the handler's store, say), so it lives as long as `&self`.
///
/// Called once per request, in order per connection; the futures of
/// different connections run concurrently on one thread.
#[allow(async_fn_in_trait)]
pub trait Handler {
    /// The response to `req`.
    async fn handle(&self, req: Request) -> Response<'_>;
}

impl<H: Handler + ?Sized> Handler for &H {
    async fn handle(&self, req: Request) -> Response<'_> {
        (**self).handle(req).await
    }
}
