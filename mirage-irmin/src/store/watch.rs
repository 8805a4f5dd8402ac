//! Watching a branch: a stream of its new heads.
//!
//! The branch is polled through the mirage-core [`Time`] signature, so
//! commits made by other processes on a shared `.git` directory are seen as
//! well as those made in this one; a watch in virtual time costs nothing.

use core::time::Duration;

use futures::Stream;
use gix_hash::ObjectId;
use mirage_core::{Time, WallClock};

use super::Store;
use crate::backend::Backend;
use crate::error::StoreError;

impl<B: Backend, C: WallClock> Store<B, C> {
    /// A stream yielding the head each time it changes (checked every
    /// `interval`), starting from the head at the time of the call. Heads
    /// that come and go within one interval are not seen; a deleted branch
    /// yields nothing until it exists again. Storage errors are yielded and
    /// the watch goes on.
    pub fn watch<'a, T: Time + ?Sized>(
        &'a self,
        time: &'a T,
        interval: Duration,
    ) -> impl Stream<Item = Result<ObjectId, StoreError>> + 'a {
        let start = self.head_sync().ok().flatten();
        futures::stream::unfold(start, move |mut last| async move {
            loop {
                time.sleep(interval).await;
                match self.head_sync() {
                    Ok(Some(now)) if Some(now) != last => {
                        last = Some(now);
                        return Some((Ok(now), last));
                    }
                    Ok(now) => last = now.or(last),
                    Err(e) => return Some((Err(e), last)),
                }
            }
        })
    }
}
