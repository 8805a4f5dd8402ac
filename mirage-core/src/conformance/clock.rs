use core::time::Duration;

use crate::random::Random;
use crate::time::{Instant, PosixTime, Time, WallClock, timeout};

/// Checks that timers wait at least as long as asked, that the monotonic
/// clock never goes backwards, and that [`timeout`] gives up. Sleeps about
/// 30 ms of the device's time.
pub async fn time<T: Time + ?Sized>(t: &T) {
    let t0 = t.now();
    t.sleep(Duration::from_millis(10)).await;
    let t1 = t.now();
    assert!(t1 >= t0, "the monotonic clock went backwards");
    assert!(
        t1 - t0 >= Duration::from_millis(10),
        "sleep(10ms) returned after {:?}",
        t1 - t0
    );
    t.sleep_until(t0).await; // In the past: returns at once.
    t.sleep(Duration::ZERO).await;
    let waited = timeout(t, Duration::from_millis(10), t.sleep_until(Instant::MAX)).await;
    assert!(
        waited.is_err(),
        "timeout() gives up on a future that never completes"
    );
    let quick = timeout(t, Duration::from_secs(5), async { 7 }).await;
    assert_eq!(quick, Ok(7), "timeout() passes through a ready future");
    let mut last = t.now();
    for _ in 0..100 {
        let now = t.now();
        assert!(now >= last, "the monotonic clock went backwards");
        last = now;
    }
    t.sleep(Duration::from_millis(5)).await;
}

/// Checks that a wall clock reads a plausible present (after 2020, before
/// 2200) and does not run backwards over a few readings.
pub async fn wall_clock<W: WallClock + ?Sized>(w: &W) {
    let a = w.now_posix();
    assert!(
        a.secs > 1_577_836_800,
        "wall clock reads {a:?}, before 2020"
    );
    assert!(a.secs < 7_258_118_400, "wall clock reads {a:?}, after 2200");
    assert!(a.nanos < 1_000_000_000, "nanoseconds out of range in {a:?}");
    let b = w.now_posix();
    assert!(
        b >= a || a.secs - b.secs < 2,
        "wall clock jumped back from {a:?} to {b:?}"
    );
    let _ = PosixTime::EPOCH;
}

/// Checks that a random source fills buffers of every small size and does
/// not repeat itself.
pub fn random<R: Random + ?Sized>(r: &R) {
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    r.fill_bytes(&mut a);
    r.fill_bytes(&mut b);
    assert_ne!(a, b, "two 64-byte draws are equal");
    assert_ne!(a, [0u8; 64], "a 64-byte draw is all zero");
    for len in 0..17 {
        let mut buf = alloc::vec![0u8; len];
        r.fill_bytes(&mut buf);
    }
    let x = r.next_u64();
    let y = r.next_u64();
    assert_ne!(x, y, "two u64 draws are equal");
}
