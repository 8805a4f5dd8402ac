//! Domain names: wire form, compression-pointer decoding, presentation form,
//! case-insensitive comparison and canonical (RFC 4034 §6.1) ordering.

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};

use super::error::{Field, WireError};

/// Longest name in wire form, terminal root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// An absolute domain name, kept in uncompressed wire form.
///
/// The letters keep the case they were read with, so a question is echoed as
/// asked (RFC 1034 §3.1), while `==`, `Hash` and `Ord` ignore ASCII case.
/// `Ord` is the canonical DNSSEC order: label by label from the root.
#[derive(Clone)]
pub struct Name {
    wire: Box<[u8]>,
}

/// Returned when a name in presentation form is not a valid domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Two dots in a row, or a leading dot in a name other than `.`.
    #[error("empty label")]
    EmptyLabel,
    /// A label longer than 63 bytes.
    #[error("label longer than 63 bytes")]
    LabelTooLong,
    /// A name longer than 255 bytes in wire form.
    #[error("name longer than 255 bytes")]
    NameTooLong,
    /// A backslash not followed by a character or by three decimal digits up to 255.
    #[error("bad escape sequence")]
    BadEscape,
    /// A relative name where no origin is known.
    #[error("relative name without an origin")]
    Relative,
}

/// Reads the possibly compressed name at `pos` of `msg` into `out`, in
/// uncompressed wire form. Returns the length written to `out` and the offset
/// just after the name in `msg`.
///
/// Pointers must point strictly backwards, which also rules out loops; labels
/// and the whole name are held to their limits. Nothing is allocated.
pub fn read_name(
    msg: &[u8],
    mut pos: usize,
    out: &mut [u8; MAX_NAME_LEN],
) -> Result<(usize, usize), WireError> {
    let mut len = 0;
    let mut end = None;
    // The lowest offset a pointer may still point to: strictly before the previous jump.
    let mut limit = pos;
    loop {
        let &b = msg.get(pos).ok_or(WireError::Truncated(Field::Name))?;
        match b & 0xC0 {
            0x00 => {
                let l = b as usize;
                if len + l + 1 > MAX_NAME_LEN {
                    return Err(WireError::NameTooLong);
                }
                let label = msg
                    .get(pos + 1..pos + 1 + l)
                    .ok_or(WireError::Truncated(Field::Name))?;
                out[len] = b;
                out[len + 1..len + 1 + l].copy_from_slice(label);
                len += l + 1;
                pos += l + 1;
                if l == 0 {
                    return Ok((len, end.unwrap_or(pos)));
                }
            }
            0xC0 => {
                let &lo = msg.get(pos + 1).ok_or(WireError::Truncated(Field::Name))?;
                let to = (((b & 0x3F) as usize) << 8) | lo as usize;
                if to >= limit {
                    return Err(WireError::ForwardPointer { at: pos, to });
                }
                end.get_or_insert(pos + 2);
                limit = to;
                pos = to;
            }
            _ => return Err(WireError::BadLabelType(b)),
        }
    }
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name {
            wire: Box::new([0]),
        }
    }

    /// Reads a possibly compressed name at `pos` of the message `msg`;
    /// returns it and the offset after it.
    pub fn parse(msg: &[u8], pos: usize) -> Result<(Name, usize), WireError> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let (len, next) = read_name(msg, pos, &mut buf)?;
        Ok((
            Name {
                wire: buf[..len].into(),
            },
            next,
        ))
    }

    /// Builds a name from uncompressed wire form, checking its structure.
    pub fn from_wire(wire: &[u8]) -> Result<Name, WireError> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let (len, next) = read_name(wire, 0, &mut buf)?;
        if next != wire.len() {
            return Err(WireError::TrailingBytes(wire.len() - next));
        }
        Ok(Name {
            wire: buf[..len].into(),
        })
    }

    /// Builds a name from labels, leftmost first (the root label is implied).
    pub fn from_labels<'l, I: IntoIterator<Item = &'l [u8]>>(labels: I) -> Result<Name, NameError> {
        let mut wire = Vec::new();
        for l in labels {
            if l.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if l.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            wire.push(l.len() as u8);
            wire.extend_from_slice(l);
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        Ok(Name { wire: wire.into() })
    }

    /// Reads a name in presentation form (`www.example.com.`, with `\.` and
    /// `\DDD` escapes). A name without a final dot is relative and has
    /// `origin` appended; with no origin that is an error.
    pub fn from_presentation(s: &str, origin: Option<&Name>) -> Result<Name, NameError> {
        if s == "." {
            return Ok(Name::root());
        }
        let bytes = s.as_bytes();
        let mut wire = Vec::with_capacity(bytes.len() + 2);
        let mut label_start = 0;
        wire.push(0);
        let mut i = 0;
        let mut absolute = false;
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'.' => {
                    let l = wire.len() - label_start - 1;
                    if l == 0 {
                        return Err(NameError::EmptyLabel);
                    }
                    if l > MAX_LABEL_LEN {
                        return Err(NameError::LabelTooLong);
                    }
                    wire[label_start] = l as u8;
                    if i + 1 == bytes.len() {
                        absolute = true;
                    } else {
                        label_start = wire.len();
                        wire.push(0);
                    }
                    i += 1;
                }
                b'\\' => {
                    let (byte, used) = unescape(&bytes[i + 1..]).ok_or(NameError::BadEscape)?;
                    wire.push(byte);
                    i += 1 + used;
                }
                _ => {
                    wire.push(c);
                    i += 1;
                }
            }
        }
        if !absolute {
            let l = wire.len() - label_start - 1;
            if l == 0 {
                return Err(NameError::EmptyLabel);
            }
            if l > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            wire[label_start] = l as u8;
            let origin = origin.ok_or(NameError::Relative)?;
            wire.extend_from_slice(&origin.wire);
        } else {
            wire.push(0);
        }
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        Ok(Name { wire: wire.into() })
    }

    /// The uncompressed wire form, root label included.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// Length of the wire form.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// The labels, leftmost first, without the root label.
    pub fn labels(&self) -> Labels<'_> {
        Labels { wire: &self.wire }
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// Whether the leftmost label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.wire.starts_with(&[1, b'*'])
    }

    /// The name with its leftmost label removed; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        let l = *self.wire.first()? as usize;
        (l != 0).then(|| Name {
            wire: self.wire[l + 1..].into(),
        })
    }

    /// The same name in lowercase ASCII.
    pub fn to_lowercase(&self) -> Name {
        Name {
            wire: self.wire.to_ascii_lowercase().into(),
        }
    }

    /// Whether `self` equals `ancestor` or lies below it.
    pub fn is_subdomain_of(&self, ancestor: &Name) -> bool {
        let (n, a) = (self.wire.len(), ancestor.wire.len());
        n >= a
            && self
                .suffix_offsets()
                .any(|o| o == n - a && self.wire[o..].eq_ignore_ascii_case(&ancestor.wire))
    }

    /// Offsets in the wire form where each suffix starts, from the full name down to the root.
    pub fn suffix_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        let mut pos = Some(0usize);
        core::iter::from_fn(move || {
            let p = pos?;
            let l = self.wire[p] as usize;
            pos = (l != 0).then_some(p + l + 1);
            Some(p)
        })
    }

    /// Prepends one label.
    pub fn prepend(&self, label: &[u8]) -> Result<Name, NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if self.wire.len() + label.len() + 1 > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        let mut wire = Vec::with_capacity(self.wire.len() + label.len() + 1);
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
        wire.extend_from_slice(&self.wire);
        Ok(Name { wire: wire.into() })
    }

    /// Replaces the suffix `old` of this name by `new` (DNAME substitution,
    /// RFC 6672 §2.2). `None` when `old` is not a suffix; an error when the
    /// result is too long (the server then answers YXDOMAIN).
    pub fn replace_suffix(&self, old: &Name, new: &Name) -> Option<Result<Name, NameError>> {
        if !self.is_subdomain_of(old) {
            return None;
        }
        let keep = self.wire.len() - old.wire.len();
        let len = keep + new.wire.len();
        if len > MAX_NAME_LEN {
            return Some(Err(NameError::NameTooLong));
        }
        let mut wire = Vec::with_capacity(len);
        wire.extend_from_slice(&self.wire[..keep]);
        wire.extend_from_slice(&new.wire);
        Some(Ok(Name { wire: wire.into() }))
    }
}

/// Decodes the escape after a backslash: `\DDD` or `\X`. Returns the byte and
/// how many input bytes the escape used (after the backslash).
pub(crate) fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let &c = rest.first()?;
    if c.is_ascii_digit() {
        let d = rest.get(..3)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = (d[0] - b'0') as u16 * 100 + (d[1] - b'0') as u16 * 10 + (d[2] - b'0') as u16;
        u8::try_from(v).ok().map(|b| (b, 3))
    } else {
        Some((c, 1))
    }
}

/// Iterator over the labels of a [`Name`], leftmost first.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    wire: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let l = *self.wire.first()? as usize;
        if l == 0 {
            return None;
        }
        let label = &self.wire[1..=l];
        self.wire = &self.wire[l + 1..];
        Some(label)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.wire.iter() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

/// Offsets of the labels of a wire name, leftmost first, and their count.
fn label_offsets(wire: &[u8]) -> ([u8; 128], usize) {
    let mut offs = [0u8; 128];
    let (mut n, mut pos) = (0, 0);
    while wire[pos] != 0 {
        offs[n] = pos as u8;
        n += 1;
        pos += wire[pos] as usize + 1;
    }
    (offs, n)
}

impl Ord for Name {
    /// Canonical order (RFC 4034 §6.1): labels compared from the root, as
    /// lowercase byte strings. Allocates nothing.
    fn cmp(&self, other: &Name) -> Ordering {
        let (a, na) = label_offsets(&self.wire);
        let (b, nb) = label_offsets(&other.wire);
        let label = |wire: &'_ [u8], off: u8| {
            let o = off as usize;
            let l = wire[o] as usize;
            (o + 1, o + 1 + l)
        };
        for (&x, &y) in a[..na].iter().rev().zip(b[..nb].iter().rev()) {
            let (xs, xe) = label(&self.wire, x);
            let (ys, ye) = label(&other.wire, y);
            let o = self.wire[xs..xe]
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(other.wire[ys..ye].iter().map(u8::to_ascii_lowercase));
            if o != Ordering::Equal {
                return o;
            }
        }
        na.cmp(&nb)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Writes one label in presentation form, escaping what must be escaped.
pub(crate) fn fmt_label(label: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for &b in label {
        match b {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => write!(f, "\\{}", b as char)?,
            0x21..=0x7E => write!(f, "{}", b as char)?,
            _ => write!(f, "\\{b:03}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for label in self.labels() {
            fmt_label(label, f)?;
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl core::str::FromStr for Name {
    type Err = NameError;

    /// Parses an absolute name; a missing final dot is accepted as absolute too.
    fn from_str(s: &str) -> Result<Name, NameError> {
        Name::from_presentation(s, Some(&Name::root()))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn n(s: &str) -> Name {
        s.parse().unwrap()
    }

    #[test]
    fn test_parse_compressed() {
        // "example.com" at 0, then "www" + pointer to 0.
        let msg = b"\x07example\x03com\x00\x03www\xc0\x00";
        let (name, next) = Name::parse(msg, 13).unwrap();
        assert_eq!(name, n("www.example.com."));
        assert_eq!(next, msg.len());
    }

    #[test]
    fn test_reject_forward_and_self_pointer() {
        assert!(matches!(
            Name::parse(b"\xc0\x00", 0),
            Err(WireError::ForwardPointer { .. })
        ));
        assert!(matches!(
            Name::parse(b"\xc0\x02\x00", 0),
            Err(WireError::ForwardPointer { .. })
        ));
        // A pointer back to a pointer that points forward again: loop refused.
        assert!(matches!(
            Name::parse(b"\x01a\xc0\x04\xc0\x00", 4),
            Err(WireError::ForwardPointer { .. })
        ));
    }

    #[test]
    fn test_limits() {
        let mut long = vec![64u8];
        long.extend_from_slice(&[b'a'; 64]);
        long.push(0);
        assert_eq!(
            Name::parse(&long, 0).unwrap_err(),
            WireError::BadLabelType(64)
        );
        let mut msg = Vec::new();
        for _ in 0..4 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert_eq!(Name::parse(&msg, 0).unwrap_err(), WireError::NameTooLong);
        assert_eq!(
            Name::parse(b"\x40", 0).unwrap_err(),
            WireError::BadLabelType(0x40)
        );
        assert_eq!(
            Name::from_presentation(&"a".repeat(64), Some(&Name::root())),
            Err(NameError::LabelTooLong)
        );
    }

    #[test]
    fn test_case_and_order() {
        assert_eq!(n("WWW.Example.COM"), n("www.example.com"));
        assert_eq!(n("WWW.Example.COM").to_string(), "WWW.Example.COM.");
        let mut v = vec![
            n("z.example"),
            n("a.example"),
            n("example"),
            n("\\001.z.example"),
            n("*.z.example"),
            n("yljkjljk.a.example"),
            n("Z.a.example"),
            n("zABC.a.EXAMPLE"),
            n("\\200.z.example"),
        ];
        v.sort();
        let s: Vec<String> = v.iter().map(|x| x.to_string().to_lowercase()).collect();
        // RFC 4034 §6.1 example order.
        assert_eq!(
            s,
            [
                "example.",
                "a.example.",
                "yljkjljk.a.example.",
                "z.a.example.",
                "zabc.a.example.",
                "z.example.",
                "\\001.z.example.",
                "*.z.example.",
                "\\200.z.example."
            ]
        );
    }

    #[test]
    fn test_presentation() {
        let origin = n("example.com");
        assert_eq!(
            Name::from_presentation("www", Some(&origin)).unwrap(),
            n("www.example.com.")
        );
        assert_eq!(
            Name::from_presentation("a\\.b.c.", None)
                .unwrap()
                .label_count(),
            2
        );
        assert_eq!(
            Name::from_presentation("a\\046b.", None)
                .unwrap()
                .to_string(),
            "a\\.b."
        );
        assert_eq!(
            Name::from_presentation("a\\256", Some(&origin)),
            Err(NameError::BadEscape)
        );
        assert_eq!(
            Name::from_presentation("a..b", Some(&origin)),
            Err(NameError::EmptyLabel)
        );
        assert_eq!(
            Name::from_presentation("www", None),
            Err(NameError::Relative)
        );
        assert!(n("a.b.example.com").is_subdomain_of(&origin));
        assert!(!n("aexample.com").is_subdomain_of(&origin));
        let d = n("x.a.example.com")
            .replace_suffix(&n("a.example.com"), &n("b.net"))
            .unwrap()
            .unwrap();
        assert_eq!(d, n("x.b.net"));
    }
}
