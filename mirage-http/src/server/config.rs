//! Server limits and timeouts.

use core::time::Duration;

use crate::parse::Limits;

/// Limits and timeouts of a [`crate::Server`]. The defaults follow nginx's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Parser limits: target (414), header section (431), body (413).
    pub limits: Limits,
    /// Time allowed from a request's first byte to the end of its head
    /// (slowloris); then 408 and close. Default 60 s (nginx `client_header_timeout`).
    pub header_timeout: Duration,
    /// Longest wait between two reads of a request body. Default 60 s
    /// (nginx `client_body_timeout`).
    pub body_timeout: Duration,
    /// Longest wait between two writes of a response. Default 60 s
    /// (nginx `send_timeout`).
    pub send_timeout: Duration,
    /// How long an idle keep-alive connection is kept open. Default 75 s
    /// (nginx `keepalive_timeout`).
    pub idle_timeout: Duration,
    /// Requests served on one connection before it is closed. Default 1000
    /// (nginx `keepalive_requests`).
    pub max_requests_per_connection: usize,
    /// Connections served at once; further ones are answered 503 and closed
    /// at once, without slowing the others. Default 1024.
    pub max_connections: usize,
    /// How long to keep reading (and discarding) after a final response on
    /// a connection being closed, so unread pipelined bytes do not make the
    /// kernel reset the connection before the client reads the response.
    /// Default 2 s (nginx `lingering_timeout` 5 s).
    pub linger_timeout: Duration,
    /// The `Server` header value; `None` sends none. Default `mirage-http`.
    pub server_name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(75),
            max_requests_per_connection: 1000,
            max_connections: 1024,
            linger_timeout: Duration::from_secs(2),
            server_name: Some("mirage-http".to_owned()),
        }
    }
}
