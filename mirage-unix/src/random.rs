//! [`OsRandom`]: the kernel's random source.

use mirage_core::Random;

/// The kernel's cryptographic random source (`getrandom(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsRandom {
    _probed: (),
}

/// Returned by [`OsRandom::new`] when the kernel's random source fails.
#[derive(Debug, thiserror::Error)]
#[error("the kernel's random source failed: {0}")]
pub struct RandomError(getrandom::Error);

impl OsRandom {
    /// Checks that the kernel's random source works (it blocks only early
    /// in boot, until the kernel's pool is seeded) and returns a handle.
    pub fn new() -> Result<Self, RandomError> {
        let mut probe = [0u8; 8];
        getrandom::fill(&mut probe).map_err(RandomError)?;
        Ok(OsRandom { _probed: () })
    }
}

impl Random for OsRandom {
    /// Fills `buf` from `getrandom(2)`.
    ///
    /// # Panics
    /// If the kernel's source fails after [`OsRandom::new`] saw it work,
    /// which Linux does not do: continuing with predictable bytes would be
    /// worse than stopping.
    fn fill_bytes(&self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            panic!("the kernel's random source failed after working: {e}");
        }
    }

    fn is_cryptographic(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn bytes_differ() {
        let r = OsRandom::new().unwrap();
        assert!(r.is_cryptographic());
        let (a, b) = (r.next_u64(), r.next_u64());
        assert_ne!(a, b);
    }
}
