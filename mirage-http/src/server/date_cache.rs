//! The `Date` header value, formatted at most once per second.

use core::cell::RefCell;

use mirage_core::WallClock;

use crate::date::imf_fixdate;

/// Caches the IMF-fixdate of the current second, shared by every
/// connection of a server (single-threaded, hence `RefCell`).
#[derive(Debug, Default)]
pub struct DateCache {
    cached: RefCell<Option<(i64, String)>>,
}

impl DateCache {
    /// An empty cache.
    pub fn new() -> Self {
        DateCache::default()
    }

    /// Calls `f` with the current date, reformatting only when the second changed.
    pub fn with<R>(&self, clock: &impl WallClock, f: impl FnOnce(&str) -> R) -> R {
        let now = clock.now_posix();
        let mut cached = self.cached.borrow_mut();
        match &*cached {
            Some((secs, s)) if *secs == now.secs => f(s),
            _ => {
                let s = imf_fixdate(now);
                let r = f(&s);
                *cached = Some((now.secs, s));
                r
            }
        }
    }
}
