//! Clocks and timers: [`MonotonicClock`], [`WallClock`] and [`Time`].
//!
//! Everything in the project that waits, waits through [`Time`], so that a
//! test can substitute a virtual clock and run minutes of protocol time in
//! microseconds (see [`crate::mem::VirtualClock`]).

use core::fmt;
use core::future::Future;
use core::ops::{Add, AddAssign, Sub};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

/// A point on a monotonic clock, in nanoseconds since an arbitrary origin
/// (usually boot). Never goes backwards; unrelated to calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant { nanos: 0 };
    /// The furthest representable instant, used as "never".
    pub const MAX: Instant = Instant { nanos: u64::MAX };

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant { nanos }
    }

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Instant {
            nanos: millis.saturating_mul(1_000_000),
        }
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Microseconds since the origin (rounded down).
    pub const fn as_micros(self) -> u64 {
        self.nanos / 1_000
    }

    /// Milliseconds since the origin (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.nanos / 1_000_000
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Instant {
        let add = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant {
            nanos: self.nanos.saturating_add(add),
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating addition: adding to [`Instant::MAX`] stays there.
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = self.saturating_add(d);
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating difference: an earlier minus a later instant is zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.nanos / 1_000_000_000,
            self.nanos % 1_000_000_000
        )
    }
}

/// Calendar time as POSIX seconds and nanoseconds since 1970-01-01T00:00:00Z
/// (leap seconds not counted). Used for HTTP `Date` headers, commit
/// timestamps and TSIG time checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PosixTime {
    /// Whole seconds since the epoch (negative before 1970).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl PosixTime {
    /// The epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: PosixTime = PosixTime { secs: 0, nanos: 0 };

    /// A time `secs` whole seconds after the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        PosixTime { secs, nanos: 0 }
    }

    /// `self + d`, saturating at the largest representable time.
    pub fn saturating_add(self, d: Duration) -> PosixTime {
        let mut secs = self
            .secs
            .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let mut nanos = self.nanos + d.subsec_nanos();
        if nanos >= 1_000_000_000 {
            nanos -= 1_000_000_000;
            secs = secs.saturating_add(1);
        }
        PosixTime { secs, nanos }
    }
}

/// A clock that never goes backwards: nanoseconds since boot.
pub trait MonotonicClock {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// A calendar clock (POSIX time). It may jump when the host's time is set,
/// so never use it to measure intervals; use [`MonotonicClock`].
pub trait WallClock {
    /// The current calendar time.
    fn now_posix(&self) -> PosixTime;
}

/// Timers on the monotonic clock: the only way anything in the project waits.
///
/// A single required method, [`Time::sleep_until`]; the rest are built on it.
#[allow(async_fn_in_trait)]
pub trait Time: MonotonicClock {
    /// Completes once [`MonotonicClock::now`] is at or after `deadline`.
    /// A deadline in the past completes at once; [`Instant::MAX`] never does.
    async fn sleep_until(&self, deadline: Instant);

    /// Completes after `duration` has elapsed on the monotonic clock.
    async fn sleep(&self, duration: Duration) {
        let deadline = self.now() + duration;
        self.sleep_until(deadline).await
    }
}

/// Everything a protocol usually needs of time: calendar time, monotonic
/// time and timers. Implemented for every type that has all three.
pub trait Clock: Time + WallClock {}
impl<T: Time + WallClock + ?Sized> Clock for T {}

/// Returned by [`timeout`] and [`timeout_at`] when the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operation did not finish before its deadline")]
pub struct Elapsed;

/// Runs `fut` until it completes or `deadline` passes, whichever is first.
///
/// The future is polled before the timer, so a future that is ready at the
/// deadline still wins.
pub async fn timeout_at<T: Time + ?Sized, F: Future>(
    time: &T,
    deadline: Instant,
    fut: F,
) -> Result<F::Output, Elapsed> {
    let mut fut = pin!(fut);
    let mut sleep = pin!(time.sleep_until(deadline));
    core::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(Elapsed));
        }
        Poll::Pending
    })
    .await
}

/// Runs `fut` for at most `duration`; see [`timeout_at`].
pub async fn timeout<T: Time + ?Sized, F: Future>(
    time: &T,
    duration: Duration,
    fut: F,
) -> Result<F::Output, Elapsed> {
    let deadline = time.now() + duration;
    timeout_at(time, deadline, fut).await
}

macro_rules! forward_time {
    ($($ptr:ty),*) => {$(
        impl<T: MonotonicClock + ?Sized> MonotonicClock for $ptr {
            fn now(&self) -> Instant { (**self).now() }
        }
        impl<T: WallClock + ?Sized> WallClock for $ptr {
            fn now_posix(&self) -> PosixTime { (**self).now_posix() }
        }
        impl<T: Time + ?Sized> Time for $ptr {
            async fn sleep_until(&self, deadline: Instant) { (**self).sleep_until(deadline).await }
        }
    )*};
}
forward_time!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn instant_arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Instant::from_millis(5), Duration::ZERO);
        assert_eq!(
            Instant::from_millis(1500) - Instant::from_millis(500),
            Duration::from_secs(1)
        );
        assert_eq!(
            Instant::from_nanos(1_500_000_000).to_string(),
            "1.500000000s"
        );
    }

    #[test]
    fn posix_add_carries_nanos() {
        let t = PosixTime {
            secs: 10,
            nanos: 900_000_000,
        }
        .saturating_add(Duration::from_millis(200));
        assert_eq!(
            t,
            PosixTime {
                secs: 11,
                nanos: 100_000_000
            }
        );
    }
}
