//! The message writer: appends to a caller's buffer and compresses names
//! (RFC 1035 §4.1.4) by pointing back at suffixes already written.

use super::error::EmitError;
use super::name::Name;

/// Appends wire data to a `Vec<u8>` that holds one message from `start` on.
///
/// The writer remembers where it wrote each name suffix, so a later name can
/// point back at it. The buffer is the caller's, so a server reuses one.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    start: usize,
    /// Offsets (from `start`) of name suffixes written as labels.
    names: Vec<u16>,
}

impl<'b> Writer<'b> {
    /// A writer appending a message at the current end of `buf`.
    pub fn new(buf: &'b mut Vec<u8>) -> Writer<'b> {
        let start = buf.len();
        Writer {
            buf,
            start,
            names: Vec::new(),
        }
    }

    /// Bytes written to this message so far.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message written so far.
    pub fn message(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends a character-string (length byte and up to 255 bytes).
    pub fn character_string(&mut self, s: &[u8]) -> Result<(), EmitError> {
        let l = u8::try_from(s.len()).map_err(|_| EmitError::StringTooLong)?;
        self.u8(l);
        self.bytes(s);
        Ok(())
    }

    /// Overwrites a big-endian u16 at message offset `at`.
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        self.buf[self.start + at..self.start + at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// Appends a name; with `compress`, suffixes already in the message are
    /// replaced by a pointer. Either way the suffixes written become targets.
    pub fn name(&mut self, name: &Name, compress: bool) {
        let wire = name.as_wire();
        let mut pos = 0;
        while wire[pos] != 0 {
            let suffix = &wire[pos..];
            if compress && let Some(target) = self.find(suffix) {
                self.u16(0xC000 | target);
                return;
            }
            let here = self.len();
            if here < 0x4000 {
                self.names.push(here as u16);
            }
            let l = wire[pos] as usize;
            self.bytes(&wire[pos..pos + l + 1]);
            pos += l + 1;
        }
        self.u8(0);
    }

    /// Finds a suffix written earlier that equals `suffix` (ignoring case).
    fn find(&self, suffix: &[u8]) -> Option<u16> {
        let msg = self.message();
        self.names
            .iter()
            .copied()
            .find(|&o| msg[o as usize] == suffix[0] && same_name_at(msg, o as usize, suffix))
    }
}

/// Compares the (possibly compressed) name at `at` in `msg` with the wire form `want`.
fn same_name_at(msg: &[u8], mut at: usize, want: &[u8]) -> bool {
    let mut i = 0;
    loop {
        // A name still being written may end before its root label: no match.
        let Some(&b) = msg.get(at) else { return false };
        if b & 0xC0 == 0xC0 {
            let Some(&lo) = msg.get(at + 1) else {
                return false;
            };
            at = (((b & 0x3F) as usize) << 8) | lo as usize;
            continue;
        }
        let l = b as usize;
        if want.get(i) != Some(&b) {
            return false;
        }
        if l == 0 {
            return true;
        }
        let (Some(a), Some(w)) = (msg.get(at + 1..at + 1 + l), want.get(i + 1..i + 1 + l)) else {
            return false;
        };
        if !a.eq_ignore_ascii_case(w) {
            return false;
        }
        at += l + 1;
        i += l + 1;
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_emit_compressed() {
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        w.name(&"example.com".parse().unwrap(), true);
        w.name(&"WWW.EXAMPLE.com".parse().unwrap(), true);
        w.name(&"mail.www.example.com".parse().unwrap(), true);
        w.name(&"example.com".parse().unwrap(), false);
        assert_eq!(
            &buf[..],
            b"\x07example\x03com\x00\x03WWW\xc0\x00\x04mail\xc0\x0d\x07example\x03com\x00"
        );
        let (n, _) = Name::parse(&buf, 19).unwrap();
        assert_eq!(n.to_string(), "mail.WWW.example.com.");
    }
}
