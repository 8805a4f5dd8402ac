//! Remote URLs: `git://host[:port]/path`, `http://host[:port]/path` and
//! `file:///path` (or a bare absolute path).
//!
//! The [`mirage_core::Stack`] has no resolver, so a host must be an IP
//! literal (`127.0.0.1`, `[::1]`) or `localhost` (taken as 127.0.0.1); a
//! DNS name is refused with [`UrlError::NeedsResolver`]. `https://` is
//! refused: there is no TLS here.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::error::UrlError;

/// The git daemon's port.
pub const GIT_PORT: u16 = 9418;

/// A parsed remote URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Url {
    /// `git://`: the git daemon protocol over TCP.
    Git {
        /// Where to connect.
        addr: SocketAddr,
        /// The host as written, sent in the request's `host=` parameter.
        host: String,
        /// The repository path, starting with `/`.
        path: String,
    },
    /// `http://`: the smart HTTP protocol.
    Http {
        /// Where to connect.
        addr: SocketAddr,
        /// The host as written (with the port if one was given), for `Host:`.
        host: String,
        /// The repository's path, starting with `/`, without trailing `/`.
        path: String,
    },
    /// `file://`: a repository on the local file system.
    File {
        /// The repository's path.
        path: String,
    },
}

impl Url {
    /// Parses a URL (see the module docs for the forms accepted).
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        let malformed = || UrlError::Malformed(s.to_string());
        if s.starts_with('/') {
            return Ok(Url::File {
                path: s.to_string(),
            });
        }
        let (scheme, rest) = s.split_once("://").ok_or_else(malformed)?;
        match scheme {
            "file" => {
                // file:///abs/path or file://localhost/abs/path
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(malformed());
                }
                Ok(Url::File {
                    path: path.to_string(),
                })
            }
            "git" | "http" => {
                let (authority, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                if authority.contains('@') || path.contains(['?', '#', ' ', '\r', '\n', '\0']) {
                    return Err(malformed());
                }
                let default_port = if scheme == "git" { GIT_PORT } else { 80 };
                let (ip, port) =
                    parse_authority(authority, default_port).ok_or_else(malformed)??;
                let addr = SocketAddr::new(ip, port);
                if scheme == "git" {
                    let host = authority
                        .rsplit_once(':')
                        .filter(|(h, _)| !h.is_empty() && !authority.ends_with(']'))
                        .map(|(h, _)| h)
                        .unwrap_or(authority)
                        .to_string();
                    Ok(Url::Git {
                        addr,
                        host,
                        path: path.to_string(),
                    })
                } else {
                    let path = path.trim_end_matches('/');
                    Ok(Url::Http {
                        addr,
                        host: authority.to_string(),
                        path: if path.is_empty() {
                            "/".to_string()
                        } else {
                            path.to_string()
                        },
                    })
                }
            }
            "https" => Err(UrlError::Https),
            other => Err(UrlError::UnsupportedScheme(other.to_string())),
        }
    }
}

/// `host[:port]` with host an IPv4 literal, `[IPv6]` or `localhost`.
fn parse_authority(authority: &str, default_port: u16) -> Option<Result<(IpAddr, u16), UrlError>> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => p.parse().ok().filter(|&p| p != 0)?,
    };
    if host.is_empty() {
        return None;
    }
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        match host.parse() {
            Ok(ip) => ip,
            Err(_) => {
                if host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                {
                    return Some(Err(UrlError::NeedsResolver(host.to_string())));
                }
                return None;
            }
        }
    };
    Some(Ok((ip, port)))
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Url::Git { addr, path, .. } => write!(f, "git://{addr}{path}"),
            Url::Http { addr, path, .. } => write!(f, "http://{addr}{path}"),
            Url::File { path } => write!(f, "file://{path}"),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_git() {
        let u = Url::parse("git://127.0.0.1:9999/repo.git").unwrap();
        assert_eq!(
            u,
            Url::Git {
                addr: "127.0.0.1:9999".parse().unwrap(),
                host: "127.0.0.1".into(),
                path: "/repo.git".into()
            }
        );
        let u = Url::parse("git://localhost/x").unwrap();
        assert!(matches!(u, Url::Git { addr, .. } if addr == "127.0.0.1:9418".parse().unwrap()));
        let u = Url::parse("git://[::1]:1234/x").unwrap();
        assert!(
            matches!(u, Url::Git { addr, ref host, .. } if addr == "[::1]:1234".parse().unwrap() && host == "[::1]")
        );
    }

    #[test]
    fn test_http() {
        let u = Url::parse("http://127.0.0.1:8080/git/repo.git/").unwrap();
        assert_eq!(
            u,
            Url::Http {
                addr: "127.0.0.1:8080".parse().unwrap(),
                host: "127.0.0.1:8080".into(),
                path: "/git/repo.git".into()
            }
        );
    }

    #[test]
    fn test_errors() {
        assert_eq!(Url::parse("https://127.0.0.1/x"), Err(UrlError::Https));
        assert_eq!(
            Url::parse("git://example.org/x"),
            Err(UrlError::NeedsResolver("example.org".into()))
        );
        assert!(matches!(
            Url::parse("ssh://h/x"),
            Err(UrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Url::parse("git://127.0.0.1:0/x"),
            Err(UrlError::Malformed(_))
        ));
        assert!(matches!(
            Url::parse("git://127.0.0.1:x/x"),
            Err(UrlError::Malformed(_))
        ));
        assert!(matches!(
            Url::parse("git://u@127.0.0.1/x"),
            Err(UrlError::Malformed(_))
        ));
        assert!(matches!(Url::parse("nothing"), Err(UrlError::Malformed(_))));
    }

    #[test]
    fn test_file() {
        assert_eq!(
            Url::parse("/srv/r.git").unwrap(),
            Url::File {
                path: "/srv/r.git".into()
            }
        );
        assert_eq!(
            Url::parse("file:///srv/r.git").unwrap(),
            Url::File {
                path: "/srv/r.git".into()
            }
        );
    }
}
