//! The access log: one line per request in the common log format, through
//! the `log` crate at level `info` with target `mirage_http::access`.
//!
//! `127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a.gif HTTP/1.1" 200 2326`

use core::net::SocketAddr;

use mirage_core::PosixTime;

use crate::date::clf_date;

/// The log target of access lines, for filtering.
pub const TARGET: &str = "mirage_http::access";

/// What one access line records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry<'a> {
    /// The client.
    pub peer: SocketAddr,
    /// When the request arrived.
    pub time: PosixTime,
    /// The request line as received (`GET / HTTP/1.1`), or `-` when none parsed.
    pub request_line: &'a str,
    /// The status sent.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
}

impl core::fmt::Display for AccessEntry<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bytes = if self.bytes == 0 {
            "-".to_owned()
        } else {
            self.bytes.to_string()
        };
        write!(
            f,
            "{} - - [{}] \"{}\" {} {}",
            self.peer.ip(),
            clf_date(self.time),
            self.request_line.escape_default(),
            self.status,
            bytes
        )
    }
}

/// Writes `entry` to the access log.
pub fn access(entry: &AccessEntry<'_>) {
    log::info!(target: TARGET, "{entry}");
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_common_log_format() {
        let e = AccessEntry {
            peer: "127.0.0.1:5555".parse().unwrap(),
            time: PosixTime::from_secs(971_185_736),
            request_line: "GET /a\"b HTTP/1.1",
            status: 200,
            bytes: 2326,
        };
        assert_eq!(
            e.to_string(),
            "127.0.0.1 - - [10/Oct/2000:13:48:56 +0000] \"GET /a\\\"b HTTP/1.1\" 200 2326"
        );
    }
}
