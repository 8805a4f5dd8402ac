//! Integration tests of the Unix devices; modules mirror `src/`.

mod block;
mod clock;
mod console;
mod kv;
mod run;
mod socket;
mod tap;

/// Runs `fut` on a single-threaded tokio runtime inside a `LocalSet`, as
/// `mirage_unix::run` does.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, fut)
}
