//! [`SeededRandom`]: reproducible pseudo-random bytes.

use core::cell::Cell;

use crate::random::Random;

/// A deterministic generator (xoshiro256** seeded by SplitMix64): the same
/// seed gives the same bytes, so a simulation can be replayed. Not for keys.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    s: Cell<[u64; 4]>,
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SeededRandom {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let s = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        SeededRandom { s: Cell::new(s) }
    }

    /// The next 64 random bits.
    pub fn next(&self) -> u64 {
        let mut s = self.s.get();
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        self.s.set(s);
        result
    }

    /// A uniformly distributed float in `[0, 1)`.
    pub fn next_f64(&self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A value in `0..n` (`0` when `n` is 0).
    pub fn below(&self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// An independent generator derived from this one's stream.
    pub fn fork(&self) -> SeededRandom {
        SeededRandom::new(self.next())
    }
}

impl Random for SeededRandom {
    fn fill_bytes(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn is_cryptographic(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a = SeededRandom::new(7);
        let b = SeededRandom::new(7);
        let c = SeededRandom::new(8);
        let xa: alloc::vec::Vec<u64> = (0..16).map(|_| a.next()).collect();
        let xb: alloc::vec::Vec<u64> = (0..16).map(|_| b.next()).collect();
        let xc: alloc::vec::Vec<u64> = (0..16).map(|_| c.next()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
        let f = a.next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
