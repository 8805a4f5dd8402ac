//! [`CpuRandom`]: random bytes from `RDRAND` when the CPU has it, otherwise
//! from a xorshift generator seeded with the time-stamp counter (then not
//! cryptographic, and it says so).

use core::cell::Cell;

use mirage_core::random::Random;

use crate::arch::cpu::{has_rdrand, rdtsc};

/// The guest's random source.
#[derive(Debug, Clone)]
pub struct CpuRandom {
    rdrand: bool,
    state: Cell<u64>,
}

impl Default for CpuRandom {
    fn default() -> Self {
        CpuRandom::new()
    }
}

impl CpuRandom {
    /// Uses `RDRAND` if CPUID reports it.
    pub fn new() -> CpuRandom {
        CpuRandom {
            rdrand: has_rdrand(),
            state: Cell::new(rdtsc() | 1),
        }
    }

    fn rdrand64(&self) -> Option<u64> {
        // RDRAND may transiently fail (CF = 0); Intel advises ten retries.
        for _ in 0..10 {
            let mut v = 0u64;
            // SAFETY: only called when CPUID reports RDRAND.
            if unsafe { core::arch::x86_64::_rdrand64_step(&mut v) } == 1 {
                return Some(v);
            }
        }
        None
    }

    fn xorshift(&self) -> u64 {
        let mut x = self.state.get() ^ rdtsc().rotate_left(17);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.set(x);
        x
    }
}

impl Random for CpuRandom {
    fn fill_bytes(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = if self.rdrand {
                self.rdrand64().unwrap_or_else(|| self.xorshift())
            } else {
                self.xorshift()
            };
            chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
        }
    }

    fn is_cryptographic(&self) -> bool {
        self.rdrand
    }
}
