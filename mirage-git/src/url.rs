//! Remote URLs: `git://host[:port]/path`, `http://host[:port]/path` and
//! `file:///path` (or a bare absolute path).
//!
//! [`Url::parse`] needs no resolver: the host must be an IP literal
//! (`127.0.0.1`, `[::1]`) or `localhost` (taken as 127.0.0.1), and a host
//! name is refused with [`UrlError::NeedsResolver`]. [`Url::resolve`]
//! accepts the same text and turns a host name into an address with a
//! [`Resolver`] (mirage-dns's stub resolver, the host's resolver on Unix).
//! `https://` is refused: there is no TLS here.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use mirage_core::{ResolveError, Resolver};

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
    /// Parses a URL (see the module docs for the forms accepted). A host
    /// name is [`UrlError::NeedsResolver`]; [`Url::resolve`] takes names.
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        match Syntax::parse(s)? {
            Syntax::File(url) => Ok(url),
            Syntax::Remote(remote) => match remote.host {
                Host::Ip(ip) => Ok(remote.into_url(ip)),
                Host::Name(name) => Err(UrlError::NeedsResolver(name.to_string())),
            },
        }
    }

    /// Parses a URL as [`Url::parse`] does, and when its host is a name,
    /// connects to the first address `resolver` gives for it.
    ///
    /// The name is resolved once, at this call: the [`Url`] holds the
    /// address, so a remote that moves needs a new call. The host as
    /// written (the name, not the address) stays in `host`, which is sent
    /// in the git daemon's `host=` parameter and HTTP's `Host:`. IP
    /// literals and `localhost` are taken as [`Url::parse`] takes them,
    /// without asking the resolver.
    pub async fn resolve<R: Resolver>(text: &str, resolver: &R) -> Result<Url, UrlError> {
        let remote = match Syntax::parse(text)? {
            Syntax::File(url) => return Ok(url),
            Syntax::Remote(remote) => remote,
        };
        let name = match remote.host {
            Host::Ip(ip) => return Ok(remote.into_url(ip)),
            Host::Name(name) => name,
        };
        let failed = |source| UrlError::Resolve {
            host: name.to_string(),
            source,
        };
        let ips = resolver.resolve(name).await.map_err(failed)?;
        let ip = *ips.first().ok_or_else(|| failed(ResolveError::NoAddress))?;
        Ok(remote.into_url(ip))
    }
}

/// What the text of a URL says, before any name is resolved.
enum Syntax<'a> {
    /// A `file://` URL or an absolute path: complete as it is.
    File(Url),
    /// A `git://` or `http://` URL.
    Remote(Remote<'a>),
}

/// A `git://` or `http://` URL whose host may still be a name.
struct Remote<'a> {
    /// `git://` rather than `http://`.
    git: bool,
    /// `host[:port]` as written.
    authority: &'a str,
    host: Host<'a>,
    port: u16,
    /// The path, starting with `/`.
    path: &'a str,
}

/// The host part of an authority.
enum Host<'a> {
    /// An IP literal, or `localhost`.
    Ip(IpAddr),
    /// A name (letters, digits, `-` and `.`) for a resolver.
    Name(&'a str),
}

impl<'a> Syntax<'a> {
    fn parse(s: &'a str) -> Result<Syntax<'a>, UrlError> {
        let malformed = || UrlError::Malformed(s.to_string());
        if s.starts_with('/') {
            return Ok(Syntax::File(Url::File {
                path: s.to_string(),
            }));
        }
        let (scheme, rest) = s.split_once("://").ok_or_else(malformed)?;
        match scheme {
            "file" => {
                // file:///abs/path or file://localhost/abs/path
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(malformed());
                }
                Ok(Syntax::File(Url::File {
                    path: path.to_string(),
                }))
            }
            "git" | "http" => {
                let (authority, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                if authority.contains('@') || path.contains(['?', '#', ' ', '\r', '\n', '\0']) {
                    return Err(malformed());
                }
                let git = scheme == "git";
                let default_port = if git { GIT_PORT } else { 80 };
                let (host, port) =
                    parse_authority(authority, default_port).ok_or_else(malformed)?;
                Ok(Syntax::Remote(Remote {
                    git,
                    authority,
                    host,
                    port,
                    path,
                }))
            }
            "https" => Err(UrlError::Https),
            other => Err(UrlError::UnsupportedScheme(other.to_string())),
        }
    }
}

impl Remote<'_> {
    /// The URL, connecting to `ip` at the port written or the default one.
    fn into_url(self, ip: IpAddr) -> Url {
        let addr = SocketAddr::new(ip, self.port);
        let authority = self.authority;
        if self.git {
            let host = authority
                .rsplit_once(':')
                .filter(|(h, _)| !h.is_empty() && !authority.ends_with(']'))
                .map(|(h, _)| h)
                .unwrap_or(authority)
                .to_string();
            Url::Git {
                addr,
                host,
                path: self.path.to_string(),
            }
        } else {
            let path = self.path.trim_end_matches('/');
            Url::Http {
                addr,
                host: authority.to_string(),
                path: if path.is_empty() {
                    "/".to_string()
                } else {
                    path.to_string()
                },
            }
        }
    }
}

/// `host[:port]` with host an IPv4 literal, `[IPv6]`, `localhost` or a
/// name; `None` when malformed.
fn parse_authority(authority: &str, default_port: u16) -> Option<(Host<'_>, u16)> {
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
    let host = if host.eq_ignore_ascii_case("localhost") {
        Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
    } else if let Ok(ip) = host.parse() {
        Host::Ip(ip)
    } else if host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        Host::Name(host)
    } else {
        return None;
    };
    Some((host, port))
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
    use mirage_core::mem::MemResolver;

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
        assert!(matches!(
            Url::parse("https://127.0.0.1/x"),
            Err(UrlError::Https)
        ));
        assert!(matches!(
            Url::parse("git://example.org/x"),
            Err(UrlError::NeedsResolver(h)) if h == "example.org"
        ));
        assert!(
            Url::parse("git://example.org/x")
                .unwrap_err()
                .to_string()
                .contains("Url::resolve")
        );
        assert!(matches!(
            Url::parse("git://exa_mple.org/x"),
            Err(UrlError::Malformed(_))
        ));
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

    fn names() -> MemResolver {
        let names = MemResolver::new();
        names.insert(
            "git.example.org",
            ["192.0.2.7".parse().unwrap(), "2001:db8::7".parse().unwrap()],
        );
        names.insert("v6.example.org", ["2001:db8::6".parse().unwrap()]);
        names.insert("empty.example.org", []);
        names
    }

    fn resolve(text: &str) -> Result<Url, UrlError> {
        futures::executor::block_on(Url::resolve(text, &names()))
    }

    #[test]
    fn test_resolve_names() {
        assert_eq!(
            resolve("git://git.example.org/site.git").unwrap(),
            Url::Git {
                addr: "192.0.2.7:9418".parse().unwrap(),
                host: "git.example.org".into(),
                path: "/site.git".into()
            }
        );
        assert_eq!(
            resolve("git://Git.Example.org:9999/site.git").unwrap(),
            Url::Git {
                addr: "192.0.2.7:9999".parse().unwrap(),
                host: "Git.Example.org".into(),
                path: "/site.git".into()
            }
        );
        assert_eq!(
            resolve("http://git.example.org:8080/r.git/").unwrap(),
            Url::Http {
                addr: "192.0.2.7:8080".parse().unwrap(),
                host: "git.example.org:8080".into(),
                path: "/r.git".into()
            }
        );
        assert_eq!(
            resolve("http://v6.example.org/r.git").unwrap(),
            Url::Http {
                addr: "[2001:db8::6]:80".parse().unwrap(),
                host: "v6.example.org".into(),
                path: "/r.git".into()
            }
        );
    }

    #[test]
    fn test_resolve_keeps_literals_and_syntax() {
        // The table maps nothing for these, so the resolver is not asked.
        for text in [
            "git://127.0.0.1:9999/repo.git",
            "git://[::1]:1234/x",
            "git://localhost/x",
            "http://127.0.0.1:8080/git/repo.git/",
            "http://[2001:db8::1]/r",
            "file:///srv/r.git",
            "/srv/r.git",
        ] {
            assert_eq!(resolve(text).unwrap(), Url::parse(text).unwrap(), "{text}");
        }
        for text in [
            "https://git.example.org/x",
            "ssh://git.example.org/x",
            "git://u@git.example.org/x",
            "git://git.example.org:0/x",
        ] {
            assert_eq!(
                resolve(text).unwrap_err().to_string(),
                Url::parse(text).unwrap_err().to_string(),
                "{text}"
            );
        }
    }

    #[test]
    fn test_resolve_errors() {
        let e = resolve("git://nowhere.example.org/x").unwrap_err();
        assert!(
            matches!(&e, UrlError::Resolve { host, source: ResolveError::NotFound } if host == "nowhere.example.org"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "cannot resolve host \"nowhere.example.org\": no such host"
        );
        let e = resolve("http://empty.example.org/x").unwrap_err();
        assert!(
            matches!(
                &e,
                UrlError::Resolve {
                    source: ResolveError::NoAddress,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = resolve("git://a..b/x").unwrap_err();
        assert!(
            matches!(
                &e,
                UrlError::Resolve {
                    source: ResolveError::InvalidName,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    /// A resolver that breaks its contract with an empty answer.
    struct Empty;

    impl Resolver for Empty {
        async fn resolve(&self, _: &str) -> Result<Vec<IpAddr>, ResolveError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn test_resolve_empty_answer() {
        let e = futures::executor::block_on(Url::resolve("git://x.example/r", &Empty)).unwrap_err();
        assert!(
            matches!(
                &e,
                UrlError::Resolve {
                    source: ResolveError::NoAddress,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn quickcheck_resolve_agrees_with_parse() {
        fn prop(text: String) -> bool {
            let parsed = Url::parse(&text);
            let resolved = resolve(&text);
            match (parsed, resolved) {
                (Ok(a), Ok(b)) => a == b,
                (Err(UrlError::NeedsResolver(_)), _) => true,
                (Err(a), Err(b)) => a.to_string() == b.to_string(),
                _ => false,
            }
        }
        for text in [
            "git://git.example.org/x",
            "git://[::1/x",
            "http://:80/x",
            "git://h:/x",
        ] {
            assert!(prop(text.to_string()), "{text}");
        }
        quickcheck::QuickCheck::new()
            .tests(2000)
            .quickcheck(prop as fn(String) -> bool);
    }
}
