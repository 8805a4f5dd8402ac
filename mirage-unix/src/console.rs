//! [`StdConsole`]: the process's standard output and input.

use mirage_core::{Console, ConsoleError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Stdin};
use tokio::sync::Mutex;

/// The longest line [`StdConsole::read_line`] accepts, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// Standard output and standard input as a mirage-core [`Console`].
///
/// Lines are written to stdout whole (one `write` of the line and its
/// newline, then a flush); input is read line by line from stdin.
#[derive(Debug)]
pub struct StdConsole {
    stdin: Mutex<BufReader<Stdin>>,
}

impl Default for StdConsole {
    fn default() -> Self {
        StdConsole::new()
    }
}

fn io_error(e: std::io::Error) -> ConsoleError {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => ConsoleError::Disconnected,
        _ => ConsoleError::Io(Box::new(e)),
    }
}

impl StdConsole {
    /// The process's console. Needs a tokio runtime when used.
    pub fn new() -> Self {
        StdConsole {
            stdin: Mutex::new(BufReader::new(tokio::io::stdin())),
        }
    }
}

impl Console for StdConsole {
    async fn write_line(&self, line: &str) -> Result<(), ConsoleError> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let mut out = tokio::io::stdout();
        out.write_all(&buf).await.map_err(io_error)?;
        out.flush().await.map_err(io_error)
    }

    async fn read_line(&self) -> Result<Option<String>, ConsoleError> {
        let mut input = self.stdin.lock().await;
        read_bounded_line(&mut *input, MAX_LINE).await
    }
}

/// Reads one line of at most `max` bytes (newline excluded) from `input`.
/// A longer line is consumed up to its newline and reported as
/// [`ConsoleError::LineTooLong`], so the next read starts on the next line.
pub(crate) async fn read_bounded_line<R: tokio::io::AsyncBufRead + Unpin>(
    input: &mut R,
    max: usize,
) -> Result<Option<String>, ConsoleError> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut saw_any = false;
    loop {
        let chunk = input.fill_buf().await.map_err(io_error)?;
        if chunk.is_empty() {
            break;
        }
        saw_any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if line.len() + part.len() > max {
            too_long = true;
        } else {
            line.extend_from_slice(part);
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            break;
        }
    }
    if too_long {
        return Err(ConsoleError::LineTooLong(max));
    }
    if !saw_any {
        return Ok(None);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| ConsoleError::InvalidUtf8)
}

#[cfg(test)]
mod test {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_split() {
        let data: &[u8] = b"one\r\ntwo\nxxxxxxxxxx\nthree";
        let mut r = BufReader::with_capacity(4, data);
        assert_eq!(
            read_bounded_line(&mut r, 8).await.unwrap().as_deref(),
            Some("one")
        );
        assert_eq!(
            read_bounded_line(&mut r, 8).await.unwrap().as_deref(),
            Some("two")
        );
        assert!(matches!(
            read_bounded_line(&mut r, 8).await,
            Err(ConsoleError::LineTooLong(8))
        ));
        assert_eq!(
            read_bounded_line(&mut r, 8).await.unwrap().as_deref(),
            Some("three")
        );
        assert_eq!(read_bounded_line(&mut r, 8).await.unwrap(), None);
        let mut bad: &[u8] = b"\xff\n";
        assert!(matches!(
            read_bounded_line(&mut bad, 8).await,
            Err(ConsoleError::InvalidUtf8)
        ));
    }
}
