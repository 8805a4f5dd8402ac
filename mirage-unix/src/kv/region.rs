//! Lending values as regions: the open file behind a [`Region`].

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use mirage_core::{Key, KvError, Region, RegionSource};

use super::DirKv;

/// A value of a [`DirKv`] lent as a [`Region`]: the file, opened the way
/// reads open it (one `openat2(RESOLVE_BENEATH)`), so it is the file that
/// was at the key when the region was lent, even if it is replaced later.
///
/// The host stack recognises it ([`Region::source`]) and sends it with
/// `sendfile(2)`; any other flow reads it through [`RegionSource`].
#[derive(Debug)]
pub struct FileRegion {
    file: File,
    /// Where the file was found, for error messages.
    store: DirKv,
    key: Key,
}

impl FileRegion {
    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The key the file was lent for.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// A host error about this file, naming its path.
    pub fn error(&self, e: io::Error) -> KvError {
        self.store.key_err(&self.key, e)
    }
}

impl RegionSource for FileRegion {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, KvError> {
        loop {
            match self.file.read_at(buf, offset) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(e)),
            }
        }
    }
}

impl DirKv {
    /// [`mirage_core::KvRo::region`]: the bytes `offset..offset + length`
    /// of the value at `key`, cut at its end, lent as its open file.
    pub(super) fn lend(&self, key: &Key, offset: u64, length: u64) -> Result<Region, KvError> {
        let (file, len) = self.open_value(key)?;
        let start = offset.min(len);
        let len = length.min(len - start);
        let source = FileRegion {
            file,
            store: self.clone(),
            key: key.clone(),
        };
        Ok(Region::new(Rc::new(source), start, len))
    }
}
