//! [`VirtualClock`]: a manual clock whose time moves only when told to.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use crate::time::{Instant, MonotonicClock, PosixTime, Time, WallClock};

#[derive(Debug)]
struct State {
    now: Instant,
    /// Calendar time at monotonic instant zero.
    epoch: PosixTime,
    timers: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

/// A clock for simulations: monotonic time starts at zero and advances only
/// through [`VirtualClock::advance`] (or the [`super::Simulation`] executor,
/// which jumps to the next timer whenever every task waits). Wall time is a
/// fixed epoch plus the monotonic time.
///
/// Cloning gives another handle on the same clock.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    state: Rc<RefCell<State>>,
}

/// A registered wake-up, returned by [`VirtualClock::wake_at`]; pass it to
/// [`VirtualClock::cancel`] to withdraw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerId(Instant, u64);

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::new(PosixTime::from_secs(1_700_000_000))
    }
}

impl VirtualClock {
    /// A clock at monotonic zero whose wall clock reads `epoch` then.
    pub fn new(epoch: PosixTime) -> Self {
        VirtualClock {
            state: Rc::new(RefCell::new(State {
                now: Instant::ZERO,
                epoch,
                timers: BTreeMap::new(),
                next_id: 0,
            })),
        }
    }

    /// Moves time forward by `d`, waking every timer that falls due.
    pub fn advance(&self, d: Duration) {
        let to = self.now() + d;
        self.advance_to(to);
    }

    /// Moves time forward to `to` (never backwards), waking every timer due
    /// by then.
    pub fn advance_to(&self, to: Instant) {
        let due: alloc::vec::Vec<Waker> = {
            let mut s = self.state.borrow_mut();
            if to > s.now {
                s.now = to;
            }
            let now = s.now;
            let later = s
                .timers
                .split_off(&(now.saturating_add(Duration::from_nanos(1)), 0));
            let due = core::mem::replace(&mut s.timers, later);
            due.into_values().collect()
        };
        for w in due {
            w.wake();
        }
    }

    /// The earliest pending timer, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.state.borrow().timers.keys().next().map(|k| k.0)
    }

    /// Number of pending timers.
    pub fn pending_timers(&self) -> usize {
        self.state.borrow().timers.len()
    }

    /// Arranges for `waker` to be woken once time reaches `deadline` (at once
    /// if it already has). Devices built on the clock use this to wake a task
    /// for a future event.
    pub fn wake_at(&self, deadline: Instant, waker: Waker) -> TimerId {
        let mut s = self.state.borrow_mut();
        if deadline <= s.now {
            drop(s);
            waker.wake();
            return TimerId(deadline, u64::MAX);
        }
        let id = s.next_id;
        s.next_id += 1;
        s.timers.insert((deadline, id), waker);
        TimerId(deadline, id)
    }

    /// Withdraws a wake-up registered with [`VirtualClock::wake_at`].
    pub fn cancel(&self, id: TimerId) {
        self.state.borrow_mut().timers.remove(&(id.0, id.1));
    }

    fn replace_waker(&self, id: TimerId, waker: &Waker) -> bool {
        let mut s = self.state.borrow_mut();
        match s.timers.get_mut(&(id.0, id.1)) {
            Some(w) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    /// Sets the wall clock so that it reads `now` at the current instant.
    pub fn set_wall(&self, now: PosixTime) {
        let mut s = self.state.borrow_mut();
        let elapsed = s.now.as_nanos();
        let secs = now.secs - (elapsed / 1_000_000_000) as i64;
        let mut nanos = i64::from(now.nanos) - (elapsed % 1_000_000_000) as i64;
        let secs = if nanos < 0 {
            nanos += 1_000_000_000;
            secs - 1
        } else {
            secs
        };
        s.epoch = PosixTime {
            secs,
            nanos: nanos as u32,
        };
    }
}

impl MonotonicClock for VirtualClock {
    fn now(&self) -> Instant {
        self.state.borrow().now
    }
}

impl WallClock for VirtualClock {
    fn now_posix(&self) -> PosixTime {
        let s = self.state.borrow();
        s.epoch
            .saturating_add(Duration::from_nanos(s.now.as_nanos()))
    }
}

/// The future returned by [`VirtualClock`]'s [`Time::sleep_until`].
#[derive(Debug)]
pub struct Sleep {
    clock: VirtualClock,
    deadline: Instant,
    timer: Option<TimerId>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.now() >= self.deadline {
            self.timer = None;
            return Poll::Ready(());
        }
        if self.deadline == Instant::MAX {
            // Never fires: no timer, or the executor would jump to the end of time.
            return Poll::Pending;
        }
        let registered = match self.timer {
            Some(id) => self.clock.replace_waker(id, cx.waker()),
            None => false,
        };
        if !registered {
            let id = self.clock.wake_at(self.deadline, cx.waker().clone());
            self.timer = Some(id);
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.timer.take() {
            self.clock.cancel(id);
        }
    }
}

impl VirtualClock {
    /// A future that completes at `deadline` (the concrete form of
    /// [`Time::sleep_until`]).
    pub fn sleep_until_future(&self, deadline: Instant) -> Sleep {
        Sleep {
            clock: self.clone(),
            deadline,
            timer: None,
        }
    }
}

impl Time for VirtualClock {
    async fn sleep_until(&self, deadline: Instant) {
        self.sleep_until_future(deadline).await
    }
}
