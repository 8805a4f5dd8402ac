//! The single-threaded runtime the host devices of mirage-unix need.

/// Runs `fut` to completion on a current-thread tokio runtime (I/O and
/// timers enabled) inside a `LocalSet`, as `mirage_unix::run` does, so
/// `tokio::task::spawn_local` works and futures need not be `Send`.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime");
    tokio::task::LocalSet::new().block_on(&rt, fut)
}
