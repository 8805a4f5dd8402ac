//! The unikernel, generic over its devices: the same code runs as a Unix
//! process and as a Xen guest.

use alloc::format;
use alloc::vec::Vec;
use core::time::Duration;

use mirage_core::console::{Console, ConsoleError};
use mirage_core::time::Clock;

/// Timer ticks the unikernel waits for.
pub const TICKS: u32 = 3;
/// The wait between ticks.
pub const TICK: Duration = Duration::from_millis(100);

/// Prints a greeting, the wall-clock time, [`TICKS`] ticks [`TICK`] apart
/// with the monotonic time of each, and a heap check, then returns.
pub async fn start<C: Console, T: Clock>(console: C, clock: T) -> Result<(), ConsoleError> {
    console
        .write_line("xen-hello: hello from a mirage-rs unikernel")
        .await?;
    let wall = clock.now_posix();
    console
        .write_line(&format!(
            "xen-hello: wall clock {}.{:09} s since the epoch",
            wall.secs, wall.nanos
        ))
        .await?;
    let start = clock.now();
    for i in 1..=TICKS {
        clock.sleep(TICK).await;
        let elapsed = clock.now() - start;
        console
            .write_line(&format!(
                "xen-hello: tick {i} after {} us",
                elapsed.as_micros()
            ))
            .await?;
    }
    let squares: Vec<u64> = (0..10_000u64).map(|x| x * x).collect();
    let sum: u64 = squares.iter().sum();
    console
        .write_line(&format!("xen-hello: heap ok, sum of 10000 squares = {sum}"))
        .await?;
    console.write_line("xen-hello: goodbye").await
}

#[cfg(test)]
mod test {
    use super::*;
    use mirage_core::mem::{MemConsole, Simulation};

    #[test]
    fn test_ticks_in_virtual_time() {
        let mut sim = Simulation::new(1);
        let console = MemConsole::new();
        sim.block_on(start(&console, sim.clock())).unwrap().unwrap();
        let out = console.output().join("\n");
        assert!(out.contains("wall clock 1700000000.000000000 s"), "{out}");
        assert!(out.contains("tick 3 after 300000 us"), "{out}");
        assert!(out.contains("sum of 10000 squares = 333283335000"), "{out}");
    }
}
