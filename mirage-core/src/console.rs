//! Text console: [`Console`].

use alloc::string::String;

/// Why a console operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    /// The console's backend is gone (closed pipe, disconnected ring).
    #[error("the console is disconnected")]
    Disconnected,
    /// A line read from the console was not valid UTF-8.
    #[error("the console sent a line that is not valid UTF-8")]
    InvalidUtf8,
    /// A line read from the console exceeded the maximum length.
    #[error("the console sent a line longer than {0} bytes")]
    LineTooLong(usize),
    /// The backend reported an I/O failure.
    #[error("console I/O error: {0}")]
    Io(#[source] alloc::boxed::Box<dyn core::error::Error + Send + Sync + 'static>),
}

/// A line-oriented text console: stdout/stdin on Unix, the Xen console ring
/// on Xen, a captured buffer in tests.
#[allow(async_fn_in_trait)]
pub trait Console {
    /// Writes `line` followed by a newline.
    async fn write_line(&self, line: &str) -> Result<(), ConsoleError>;

    /// Reads one line without its newline; `None` at end of input.
    async fn read_line(&self) -> Result<Option<String>, ConsoleError>;
}

macro_rules! forward_console {
    ($($ptr:ty),*) => {$(
        impl<T: Console + ?Sized> Console for $ptr {
            async fn write_line(&self, line: &str) -> Result<(), ConsoleError> { (**self).write_line(line).await }
            async fn read_line(&self) -> Result<Option<String>, ConsoleError> { (**self).read_line().await }
        }
    )*};
}
forward_console!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);
