//! Randomness: [`Random`].

/// A source of random bytes: the OS generator on Unix, a seeded generator in
/// simulations ([`crate::mem::SeededRandom`]) so runs are reproducible.
///
/// Takes `&self` so one source can be shared; implementations use interior
/// mutability. Whether the bytes are fit for cryptography is stated by
/// [`Random::is_cryptographic`].
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill_bytes(&self, buf: &mut [u8]);

    /// Whether the bytes are unpredictable enough for keys and nonces.
    fn is_cryptographic(&self) -> bool;

    /// A random `u64`.
    fn next_u64(&self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    /// A random `u32`.
    fn next_u32(&self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
}

macro_rules! forward_random {
    ($($ptr:ty),*) => {$(
        impl<T: Random + ?Sized> Random for $ptr {
            fn fill_bytes(&self, buf: &mut [u8]) { (**self).fill_bytes(buf) }
            fn is_cryptographic(&self) -> bool { (**self).is_cryptographic() }
        }
    )*};
}
forward_random!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);
