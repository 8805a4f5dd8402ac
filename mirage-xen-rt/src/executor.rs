//! The executor: polls one future (the application, which drives its own
//! sub-futures with `FuturesUnordered`), and when nothing can make progress
//! sleeps the vCPU until the next timer deadline or an event.
//!
//! Waiting on time goes through [`Timers`]: a sleeping future registers its
//! deadline and waker; before idling the executor asks for the earliest
//! deadline, hands it to the platform (on Xen, `VCPUOP_set_singleshot_timer`
//! then `SCHEDOP_block`), and after waking fires every expired timer.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

use futures::task::{ArcWake, waker};
use mirage_core::time::{Instant, MonotonicClock};

/// What the executor needs from the machine: the time, and a way to sleep.
pub trait Idle: MonotonicClock {
    /// Sleeps until `deadline` (or [`Instant::MAX`]: no deadline) or until an
    /// event arrives, whichever is first. May return early; must not sleep
    /// past an event that arrived while it was being called.
    fn idle_until(&self, deadline: Instant);
}

/// Pending timers: a deadline and the waker to call once it has passed.
/// Shared (single-threaded) between the clock device and the executor.
#[derive(Debug, Default)]
pub struct Timers {
    entries: RefCell<Vec<(Instant, Waker)>>,
}

impl Timers {
    /// No timers.
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Calls `waker` once the clock reaches `deadline`. A task that
    /// registers again with the same waker replaces nothing: each
    /// registration fires once.
    pub fn add(&self, deadline: Instant, waker: &Waker) {
        let mut e = self.entries.borrow_mut();
        if let Some(slot) = e
            .iter_mut()
            .find(|(d, w)| *d == deadline && w.will_wake(waker))
        {
            slot.1.clone_from(waker);
        } else {
            e.push((deadline, waker.clone()));
        }
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries.borrow().iter().map(|(d, _)| *d).min()
    }

    /// Wakes and forgets every timer due at `now`; returns how many fired.
    pub fn fire(&self, now: Instant) -> usize {
        let due: Vec<Waker> = {
            let mut e = self.entries.borrow_mut();
            let mut due = Vec::new();
            e.retain(|(d, w)| {
                if *d <= now {
                    due.push(w.clone());
                    false
                } else {
                    true
                }
            });
            due
        };
        let n = due.len();
        due.into_iter().for_each(Waker::wake);
        n
    }

    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Completes once `clock` reads at least `deadline`.
    pub async fn sleep_until<C: MonotonicClock + ?Sized>(&self, clock: &C, deadline: Instant) {
        core::future::poll_fn(|cx| {
            if clock.now() >= deadline {
                Poll::Ready(())
            } else {
                self.add(deadline, cx.waker());
                Poll::Pending
            }
        })
        .await
    }
}

struct Flag(AtomicBool);

impl ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::Release);
    }
}

/// Runs `future` to completion: polls it whenever it was woken, fires due
/// timers, and otherwise idles the platform until the next deadline.
pub fn block_on<F: Future, P: Idle + ?Sized>(
    future: F,
    platform: &P,
    timers: &Timers,
) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = waker(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if flag.0.swap(false, Ordering::Acquire)
            && let Poll::Ready(out) = future.as_mut().poll(&mut cx)
        {
            return out;
        }
        timers.fire(platform.now());
        if !flag.0.load(Ordering::Acquire) {
            platform.idle_until(timers.next_deadline().unwrap_or(Instant::MAX));
            timers.fire(platform.now());
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use core::cell::Cell;
    use core::time::Duration;

    /// A machine whose idle jumps straight to the deadline, counting sleeps.
    #[derive(Default)]
    struct Virtual {
        now: Cell<u64>,
        idles: Cell<u32>,
    }

    impl MonotonicClock for Virtual {
        fn now(&self) -> Instant {
            Instant::from_nanos(self.now.get())
        }
    }

    impl Idle for Virtual {
        fn idle_until(&self, deadline: Instant) {
            assert_ne!(deadline, Instant::MAX, "idle with nothing to wait for");
            self.idles.set(self.idles.get() + 1);
            self.now.set(self.now.get().max(deadline.as_nanos()));
        }
    }

    #[test]
    fn test_sleeps_in_order_and_idles_once_per_deadline() {
        let m = Virtual::default();
        let timers = Timers::new();
        let out = block_on(
            async {
                let mut seen = Vec::new();
                for ms in [30u64, 10, 20] {
                    timers
                        .sleep_until(&m, m.now() + Duration::from_millis(ms))
                        .await;
                    seen.push(m.now().as_millis());
                }
                seen
            },
            &m,
            &timers,
        );
        assert_eq!(out, vec![30, 40, 60]);
        assert_eq!(m.idles.get(), 3);
        assert!(timers.is_empty());
    }

    #[test]
    fn test_concurrent_sleeps_share_idles() {
        let m = Virtual::default();
        let timers = Timers::new();
        let a = timers.sleep_until(&m, Instant::from_nanos(5_000));
        let b = timers.sleep_until(&m, Instant::from_nanos(9_000));
        block_on(futures::future::join(a, b), &m, &timers);
        assert_eq!(m.now.get(), 9_000);
        assert_eq!(m.idles.get(), 2);
    }

    #[test]
    fn test_ready_future_never_idles() {
        let m = Virtual::default();
        assert_eq!(block_on(async { 7 }, &m, &Timers::new()), 7);
        assert_eq!(m.idles.get(), 0);
    }

    #[test]
    fn test_past_deadline_is_immediate() {
        let m = Virtual::default();
        m.now.set(100);
        let timers = Timers::new();
        block_on(timers.sleep_until(&m, Instant::from_nanos(50)), &m, &timers);
        assert_eq!(m.idles.get(), 0);
    }
}
