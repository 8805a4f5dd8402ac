//! From a request path to store key segments, without escaping the root.
//!
//! Each `/`-separated segment is percent-decoded on its own (so `%2F` cannot
//! create a separator), then dot-segments are removed (RFC 3986 §5.2.4).
//! Refused: an encoded `/` or NUL, a decoded byte sequence that is not
//! UTF-8, a backslash, a malformed `%` escape, and any `..` that would climb
//! above the root.

/// Why a path was refused (all lead to 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the path is not absolute")]
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    #[error("malformed percent escape")]
    BadEscape,
    /// `%2F`, `%5C` or `%00`, or a literal backslash: separators in disguise.
    #[error("encoded separator or NUL")]
    ForbiddenByte,
    /// The decoded path is not UTF-8.
    #[error("the decoded path is not UTF-8")]
    NotUtf8,
    /// `..` above the root.
    #[error("the path climbs above the root")]
    AboveRoot,
}

/// A decoded, normalised request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePath {
    /// Segments, none empty, `.` or `..`.
    pub segments: Vec<String>,
    /// Whether the path names a directory (ends in `/`, or is the root).
    pub trailing_slash: bool,
}

impl SitePath {
    /// The path in URL form, re-encoded, with a trailing `/` if it has one.
    pub fn to_url(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            encode_segment(seg, &mut s);
        }
        if self.trailing_slash || self.segments.is_empty() {
            s.push('/');
        }
        s
    }
}

/// Decodes and normalises `path` (the part of the target before `?`).
pub fn normalize(path: &str) -> Result<SitePath, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut segments: Vec<String> = Vec::new();
    let mut trailing_slash = true;
    for raw in rest.split('/') {
        let seg = decode_segment(raw)?;
        match seg.as_str() {
            "" | "." => trailing_slash = true,
            ".." => {
                segments.pop().ok_or(PathError::AboveRoot)?;
                trailing_slash = true;
            }
            _ => {
                segments.push(seg);
                trailing_slash = false;
            }
        }
    }
    Ok(SitePath {
        segments,
        trailing_slash,
    })
}

fn decode_segment(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
            let v = core::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| hex.iter().all(u8::is_ascii_hexdigit))
                .ok_or(PathError::BadEscape)?;
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    if out.iter().any(|&b| b == 0 || b == b'/' || b == b'\\') {
        return Err(PathError::ForbiddenByte);
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

/// Percent-encodes what may not stand in a path segment as is.
fn encode_segment(seg: &str, out: &mut String) {
    for b in seg.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    fn segs(p: &str) -> Result<(Vec<String>, bool), PathError> {
        normalize(p).map(|s| (s.segments, s.trailing_slash))
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn test_normalize() {
        assert_eq!(segs("/"), Ok((v(&[]), true)));
        assert_eq!(segs("/a/b.html"), Ok((v(&["a", "b.html"]), false)));
        assert_eq!(segs("/a/"), Ok((v(&["a"]), true)));
        assert_eq!(segs("/a//b"), Ok((v(&["a", "b"]), false)));
        assert_eq!(segs("/a/./b/../c"), Ok((v(&["a", "c"]), false)));
        assert_eq!(segs("/a/b/.."), Ok((v(&["a"]), true)));
        assert_eq!(segs("/hello%20world"), Ok((v(&["hello world"]), false)));
        assert_eq!(segs("/caf%C3%A9"), Ok((v(&["café"]), false)));
        assert_eq!(segs("/a/%2e%2e/b"), Ok((v(&["b"]), false)));
    }

    #[test]
    fn test_refused() {
        assert_eq!(segs("/../etc/passwd"), Err(PathError::AboveRoot));
        assert_eq!(segs("/%2e%2e/etc/passwd"), Err(PathError::AboveRoot));
        assert_eq!(segs("/a/%2E%2E/%2e%2e/x"), Err(PathError::AboveRoot));
        assert_eq!(segs("/a%2f..%2f..%2fetc"), Err(PathError::ForbiddenByte));
        assert_eq!(segs("/a%00b"), Err(PathError::ForbiddenByte));
        assert_eq!(segs("/a%5c..%5cb"), Err(PathError::ForbiddenByte));
        assert_eq!(segs("/a\\b"), Err(PathError::ForbiddenByte));
        assert_eq!(segs("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(segs("/a%+1"), Err(PathError::BadEscape));
        assert_eq!(segs("/a%4"), Err(PathError::BadEscape));
        assert_eq!(segs("/%ff"), Err(PathError::NotUtf8));
        assert_eq!(segs("a"), Err(PathError::NotAbsolute));
    }

    quickcheck! {
        fn never_escapes_and_round_trips(path: String) -> bool {
            match normalize(&format!("/{path}")) {
                Ok(p) => {
                    p.segments.iter().all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\0']))
                        && normalize(&p.to_url()) == Ok(p.clone())
                }
                Err(_) => true,
            }
        }
    }
}
