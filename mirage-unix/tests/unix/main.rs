//! Integration tests of the Unix devices; modules mirror `src/`.

mod block;
mod clock;
mod console;
mod kv;
mod run;
mod socket;
mod tap;

/// Runs a future on a single-threaded tokio runtime inside a `LocalSet`, as
/// `mirage_unix::run` does.
pub use mirage_testkit::runtime::block_on;
