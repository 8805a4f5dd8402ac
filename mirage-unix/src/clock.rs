//! [`SystemClock`]: the host's clocks and tokio's timers.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mirage_core::{Instant, MonotonicClock, PosixTime, Time, WallClock};

/// The process-wide origin of [`Instant`]s, fixed at first use, so that all
/// instances (threads) of an appliance share one monotonic time line.
fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

/// The host's clocks: `CLOCK_MONOTONIC` for [`MonotonicClock`] (instants
/// count from the first use in the process), `CLOCK_REALTIME` for
/// [`WallClock`], and tokio timers for [`Time`].
///
/// The timers need a tokio runtime with time enabled, as [`crate::run()`]
/// provides; [`Time::sleep_until`] panics outside one (a programming error,
/// not a run-time condition).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock.
    pub const fn new() -> Self {
        SystemClock
    }

    /// The host instant corresponding to `instant`, or `None` if it is too
    /// far in the future to represent.
    fn to_std(instant: Instant) -> Option<std::time::Instant> {
        origin().checked_add(Duration::from_nanos(instant.as_nanos()))
    }
}

impl MonotonicClock for SystemClock {
    fn now(&self) -> Instant {
        let nanos = origin().elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl WallClock for SystemClock {
    fn now_posix(&self) -> PosixTime {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => PosixTime {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            // The host clock is set before 1970.
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() == 0 {
                    PosixTime {
                        secs: -secs,
                        nanos: 0,
                    }
                } else {
                    PosixTime {
                        secs: -secs - 1,
                        nanos: 1_000_000_000 - d.subsec_nanos(),
                    }
                }
            }
        }
    }
}

impl Time for SystemClock {
    async fn sleep_until(&self, deadline: Instant) {
        if deadline == Instant::MAX {
            return std::future::pending().await;
        }
        match SystemClock::to_std(deadline) {
            Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn wall_clock_is_after_2020() {
        assert!(SystemClock.now_posix().secs > 1_577_836_800);
    }

    #[test]
    fn monotonic_never_goes_back() {
        let a = SystemClock.now();
        let b = SystemClock.now();
        assert!(b >= a);
    }
}
