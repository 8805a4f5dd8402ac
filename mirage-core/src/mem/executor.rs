//! [`Simulation`]: a deterministic single-threaded executor in virtual time.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use super::clock::VirtualClock;
use super::random::SeededRandom;
use crate::time::{Instant, MonotonicClock, PosixTime};

/// Returned by [`Simulation::block_on`] when no task can make progress:
/// every task waits, and no timer is pending to wake one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("simulation deadlocked at {at}: every task waits and no timer is pending")]
pub struct Stalled {
    /// The virtual time at which progress stopped.
    pub at: Instant,
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl Task {
    fn new(future: Pin<Box<dyn Future<Output = ()>>>) -> Self {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(flag.clone());
        Task {
            future,
            flag,
            waker,
        }
    }
}

#[derive(Default)]
struct Queue {
    new: Vec<Task>,
}

/// A handle to spawn tasks into a running [`Simulation`], from inside it.
#[derive(Clone)]
pub struct Spawner {
    queue: Rc<RefCell<Queue>>,
}

impl core::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Spawner")
    }
}

struct JoinState<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// Completes with a spawned task's output.
pub struct JoinHandle<T> {
    state: Rc<RefCell<JoinState<T>>>,
}

impl<T> core::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("JoinHandle")
    }
}

impl<T> JoinHandle<T> {
    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.state.borrow().value.is_some()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.state.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Spawner {
    /// Starts `future` as a task of its own; it runs until it finishes or the
    /// simulation is dropped. Tasks run in the order they were spawned.
    pub fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        let state = Rc::new(RefCell::new(JoinState {
            value: None,
            waker: None,
        }));
        let s2 = state.clone();
        let task = async move {
            let v = future.await;
            let mut s = s2.borrow_mut();
            s.value = Some(v);
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        };
        self.queue.borrow_mut().new.push(Task::new(Box::pin(task)));
        JoinHandle { state }
    }
}

/// A deterministic executor for whole-appliance simulations.
///
/// It runs every ready task in spawn order; when none is ready, it jumps the
/// [`VirtualClock`] to the next pending timer. A test therefore runs minutes
/// of protocol time in microseconds, and the same seed gives the same run.
pub struct Simulation {
    clock: VirtualClock,
    random: SeededRandom,
    tasks: Vec<Task>,
    queue: Rc<RefCell<Queue>>,
    polls: u64,
}

impl core::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Simulation")
            .field("now", &self.clock.now())
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

impl Simulation {
    /// A simulation whose randomness derives from `seed`, with the wall clock
    /// starting at 2023-11-14T22:13:20Z.
    pub fn new(seed: u64) -> Self {
        Simulation::with_epoch(seed, PosixTime::from_secs(1_700_000_000))
    }

    /// A simulation whose wall clock reads `epoch` at the start.
    pub fn with_epoch(seed: u64, epoch: PosixTime) -> Self {
        Simulation {
            clock: VirtualClock::new(epoch),
            random: SeededRandom::new(seed),
            tasks: Vec::new(),
            queue: Rc::new(RefCell::new(Queue::default())),
            polls: 0,
        }
    }

    /// The simulation's clock (a handle; clone freely).
    pub fn clock(&self) -> VirtualClock {
        self.clock.clone()
    }

    /// A random generator forked from the simulation's seed.
    pub fn random(&self) -> SeededRandom {
        self.random.fork()
    }

    /// A handle that spawns tasks, usable from inside tasks.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            queue: self.queue.clone(),
        }
    }

    /// Spawns a task; see [`Spawner::spawn`].
    pub fn spawn<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
        self.spawner().spawn(future)
    }

    /// How many times a task has been polled so far (a measure of work).
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Polls every spawned task that has been woken, once. Returns whether
    /// any was polled.
    fn run_ready_tasks(&mut self) -> bool {
        let mut progressed = false;
        self.tasks.append(&mut self.queue.borrow_mut().new);
        let mut i = 0;
        while i < self.tasks.len() {
            let task = &mut self.tasks[i];
            if task.flag.0.swap(false, Ordering::AcqRel) {
                progressed = true;
                self.polls += 1;
                let waker = task.waker.clone();
                if task
                    .future
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_ready()
                {
                    self.tasks.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        progressed || !self.queue.borrow().new.is_empty()
    }

    /// Jumps the clock to the next timer, or reports a deadlock.
    fn advance_to_next_timer(&mut self) -> Result<(), Stalled> {
        match self.clock.next_deadline() {
            Some(t) => {
                self.clock.advance_to(t);
                Ok(())
            }
            None => Err(Stalled {
                at: self.clock.now(),
            }),
        }
    }

    /// Runs spawned tasks and `future` until `future` completes, jumping
    /// virtual time whenever all wait. Spawned tasks left unfinished stay
    /// for a later call.
    pub fn block_on<T>(&mut self, future: impl Future<Output = T>) -> Result<T, Stalled> {
        let mut future = core::pin::pin!(future);
        let main = Arc::new(Flag(AtomicBool::new(true)));
        let main_waker = Waker::from(main.clone());
        loop {
            let mut progressed = false;
            if main.0.swap(false, Ordering::AcqRel) {
                progressed = true;
                self.polls += 1;
                if let Poll::Ready(v) = future.as_mut().poll(&mut Context::from_waker(&main_waker))
                {
                    return Ok(v);
                }
            }
            progressed |= self.run_ready_tasks();
            if !progressed {
                self.advance_to_next_timer()?;
            }
        }
    }

    /// Runs every task for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), Stalled> {
        let deadline = self.clock.now() + duration;
        let clock = self.clock.clone();
        self.block_on(clock.sleep_until_future(deadline))
    }

    /// Runs spawned tasks until every one has finished.
    pub fn run_until_idle(&mut self) -> Result<(), Stalled> {
        loop {
            let progressed = self.run_ready_tasks();
            if self.tasks.is_empty() && self.queue.borrow().new.is_empty() {
                return Ok(());
            }
            if !progressed {
                self.advance_to_next_timer()?;
            }
        }
    }
}
