//! Reference names and values, validated as `git check-ref-format` does.
//!
//! A [`RefName`] is `HEAD` or a path below `refs/` (`refs/heads/main`,
//! `refs/tags/v1`). A reference holds either an object id or, for symbolic
//! references like `HEAD`, the name of another reference ([`RefValue`]).

use core::fmt;

use gix_hash::ObjectId;

use crate::error::RefError;

/// A valid git reference name: `HEAD` or `refs/...`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefName(String);

impl RefName {
    /// The prefix of branches.
    pub const HEADS: &'static str = "refs/heads/";
    /// The prefix of tags.
    pub const TAGS: &'static str = "refs/tags/";

    /// Validates a full reference name.
    pub fn new(name: &str) -> Result<RefName, RefError> {
        check(name)?;
        Ok(RefName(name.to_owned()))
    }

    /// `HEAD`.
    pub fn head() -> RefName {
        RefName("HEAD".to_owned())
    }

    /// The branch `refs/heads/<name>`.
    pub fn branch(name: &str) -> Result<RefName, RefError> {
        RefName::new(&format!("{}{name}", Self::HEADS))
    }

    /// The tag `refs/tags/<name>`.
    pub fn tag(name: &str) -> Result<RefName, RefError> {
        RefName::new(&format!("{}{name}", Self::TAGS))
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The short name of a branch (`main` for `refs/heads/main`).
    pub fn branch_name(&self) -> Option<&str> {
        self.0.strip_prefix(Self::HEADS)
    }

    /// The short name of a tag (`v1` for `refs/tags/v1`).
    pub fn tag_name(&self) -> Option<&str> {
        self.0.strip_prefix(Self::TAGS)
    }
}

impl fmt::Display for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefName({})", self.0)
    }
}

/// What a reference holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefValue {
    /// An object id (a commit for branches; a commit or tag object for tags).
    Object(ObjectId),
    /// Another reference (`ref: refs/heads/main`).
    Symbolic(RefName),
}

fn check(name: &str) -> Result<(), RefError> {
    if name.is_empty() {
        return Err(RefError::Empty);
    }
    if name == "HEAD" {
        return Ok(());
    }
    if !name.starts_with("refs/") {
        return Err(RefError::NotUnderRefs(name.to_owned()));
    }
    if name.ends_with('/') || name.ends_with('.') {
        return Err(RefError::BadEnding(name.to_owned()));
    }
    if name.contains("..")
        || name.contains("@{")
        || name == "@"
        || name
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
    {
        return Err(RefError::ForbiddenCharacter(name.to_owned()));
    }
    for component in name.split('/') {
        if component.is_empty() || component.starts_with('.') || component.ends_with(".lock") {
            return Err(RefError::BadComponent(name.to_owned()));
        }
    }
    Ok(())
}

/// Parses the content of a loose reference file: a hex id or `ref: <name>`.
pub fn parse_value(content: &[u8], hash: gix_hash::Kind) -> Option<RefValue> {
    let text = core::str::from_utf8(content)
        .ok()?
        .trim_end_matches(['\n', '\r']);
    if let Some(target) = text.strip_prefix("ref:") {
        return RefName::new(target.trim_start())
            .ok()
            .map(RefValue::Symbolic);
    }
    let hex = text.get(..hash.len_in_hex())?;
    if text.len() != hex.len() && !text[hex.len()..].starts_with(char::is_whitespace) {
        return None;
    }
    ObjectId::from_hex(hex.as_bytes())
        .ok()
        .map(RefValue::Object)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn accepts_and_rejects_like_git() {
        for ok in [
            "HEAD",
            "refs/heads/main",
            "refs/tags/v1.0",
            "refs/heads/feature/x-y_z",
        ] {
            assert!(RefName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "main",
            "refs/heads/",
            "refs/heads/a..b",
            "refs/heads/.hidden",
            "refs/heads/x.lock",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a@{1}",
            "refs/heads//x",
            "refs/heads/x.",
        ] {
            assert!(RefName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_ref_files() {
        let id = "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0";
        assert_eq!(
            parse_value(format!("{id}\n").as_bytes(), gix_hash::Kind::Sha1),
            Some(RefValue::Object(ObjectId::from_hex(id.as_bytes()).unwrap()))
        );
        assert_eq!(
            parse_value(b"ref: refs/heads/main\n", gix_hash::Kind::Sha1),
            Some(RefValue::Symbolic(RefName::branch("main").unwrap()))
        );
        assert_eq!(parse_value(b"garbage\n", gix_hash::Kind::Sha1), None);
    }

    quickcheck::quickcheck! {
        fn validation_never_panics(s: String) -> bool {
            match RefName::new(&s) {
                Ok(r) => r.as_str() == s,
                Err(_) => true,
            }
        }
        fn parse_value_never_panics(b: Vec<u8>) -> bool {
            let _ = parse_value(&b, gix_hash::Kind::Sha1);
            true
        }
    }
}
