//! [`Key`]: a validated hierarchical path into a key-value store.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// The longest segment a [`Key`] accepts, in bytes (the common file-name limit).
pub const MAX_SEGMENT_LEN: usize = 255;
/// The most segments a [`Key`] accepts; deeper paths are refused.
pub const MAX_DEPTH: usize = 64;

/// A path into a key-value store, such as `/site/index.html`.
///
/// Every segment is non-empty, is neither `.` nor `..`, and contains no `/`
/// or NUL, so a key can never name something outside its store. The empty
/// key ([`Key::root`]) names the top dictionary. Keys order segment by
/// segment, so a dictionary's entries are contiguous in a sorted map.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key {
    segments: Vec<String>,
}

/// Why a string or segment is not a valid [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A segment is empty (`a//b`).
    #[error("a key segment is empty (two slashes in a row?)")]
    EmptySegment,
    /// A segment is `.` or `..`, which would escape or alias a path.
    #[error("key segment {0:?} is not allowed ('.' and '..' cannot be used)")]
    DotSegment(String),
    /// A segment contains a NUL byte or a `/`.
    #[error("a key segment contains a NUL byte or a slash")]
    ForbiddenByte,
    /// A segment is longer than [`MAX_SEGMENT_LEN`].
    #[error("a key segment is {0} bytes long; at most 255 are allowed")]
    SegmentTooLong(usize),
    /// The key has more than [`MAX_DEPTH`] segments.
    #[error("the key is more than 64 segments deep")]
    TooDeep,
}

fn check_segment(s: &str) -> Result<(), KeyError> {
    if s.is_empty() {
        return Err(KeyError::EmptySegment);
    }
    if s == "." || s == ".." {
        return Err(KeyError::DotSegment(String::from(s)));
    }
    if s.bytes().any(|b| b == 0 || b == b'/') {
        return Err(KeyError::ForbiddenByte);
    }
    if s.len() > MAX_SEGMENT_LEN {
        return Err(KeyError::SegmentTooLong(s.len()));
    }
    Ok(())
}

impl Key {
    /// The empty key: the store's top-level dictionary.
    pub const fn root() -> Key {
        Key {
            segments: Vec::new(),
        }
    }

    /// Parses `a/b/c`; one leading and one trailing `/` are ignored, and
    /// `""` or `"/"` is the root.
    pub fn parse(s: &str) -> Result<Key, KeyError> {
        let s = s.strip_prefix('/').unwrap_or(s);
        let s = s.strip_suffix('/').unwrap_or(s);
        if s.is_empty() {
            return Ok(Key::root());
        }
        let mut segments = Vec::new();
        for seg in s.split('/') {
            check_segment(seg)?;
            if segments.len() == MAX_DEPTH {
                return Err(KeyError::TooDeep);
            }
            segments.push(String::from(seg));
        }
        Ok(Key { segments })
    }

    /// Builds a key from segments, validating each one.
    pub fn from_segments<I, S>(segments: I) -> Result<Key, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut key = Key::root();
        for s in segments {
            key = key.join(s)?;
        }
        Ok(key)
    }

    /// This key with one more segment appended.
    pub fn join(&self, segment: impl Into<String>) -> Result<Key, KeyError> {
        let segment = segment.into();
        check_segment(&segment)?;
        if self.segments.len() == MAX_DEPTH {
            return Err(KeyError::TooDeep);
        }
        let mut segments = self.segments.clone();
        segments.push(segment);
        Ok(Key { segments })
    }

    /// This key followed by all of `other`'s segments.
    pub fn append(&self, other: &Key) -> Result<Key, KeyError> {
        if self.segments.len() + other.segments.len() > MAX_DEPTH {
            return Err(KeyError::TooDeep);
        }
        let mut segments = self.segments.clone();
        segments.extend(other.segments.iter().cloned());
        Ok(Key { segments })
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether this is the root key.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The key of the enclosing dictionary; the root's parent is the root.
    pub fn parent(&self) -> Key {
        let mut segments = self.segments.clone();
        segments.pop();
        Key { segments }
    }

    /// The last segment, or `None` for the root.
    pub fn basename(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    /// Whether `self` is `prefix` or lies inside it.
    pub fn starts_with(&self, prefix: &Key) -> bool {
        self.segments.starts_with(&prefix.segments)
    }

    /// `self` with `prefix` removed from its front, if it starts with it.
    pub fn strip_prefix(&self, prefix: &Key) -> Option<Key> {
        self.segments
            .strip_prefix(prefix.segments.as_slice())
            .map(|rest| Key {
                segments: rest.to_vec(),
            })
    }
}

impl fmt::Display for Key {
    /// Formats as `/a/b/c`; the root is `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for s in &self.segments {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

impl FromStr for Key {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Key, KeyError> {
        Key::parse(s)
    }
}

impl TryFrom<&str> for Key {
    type Error = KeyError;
    fn try_from(s: &str) -> Result<Key, KeyError> {
        Key::parse(s)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use alloc::string::ToString;
    use quickcheck::quickcheck;

    #[test]
    fn parse_and_display() {
        assert_eq!(Key::parse("/a/b").unwrap().to_string(), "/a/b");
        assert_eq!(Key::parse("a/b/").unwrap().segments(), ["a", "b"]);
        assert!(Key::parse("").unwrap().is_root());
        assert!(Key::parse("/").unwrap().is_root());
        assert_eq!(Key::parse("a//b"), Err(KeyError::EmptySegment));
        assert!(matches!(Key::parse("a/../b"), Err(KeyError::DotSegment(_))));
        assert!(matches!(Key::parse("./b"), Err(KeyError::DotSegment(_))));
        assert_eq!(Key::parse("a\0b"), Err(KeyError::ForbiddenByte));
        assert!(Key::root().join("x/y").is_err());
    }

    #[test]
    fn prefix_relations() {
        let k = Key::parse("a/b/c").unwrap();
        let p = Key::parse("a").unwrap();
        assert!(k.starts_with(&p));
        assert!(!p.starts_with(&k));
        assert_eq!(k.strip_prefix(&p).unwrap(), Key::parse("b/c").unwrap());
        assert_eq!(k.parent().parent(), p);
        assert_eq!(k.basename(), Some("c"));
    }

    quickcheck! {
        fn parse_never_panics_and_round_trips(s: String) -> bool {
            match Key::parse(&s) {
                Ok(k) => Key::parse(&k.to_string()) == Ok(k.clone()),
                Err(_) => true,
            }
        }
    }
}
