//! Opening the file at a key without leaving the root.
//!
//! The fast way is one `openat2(RESOLVE_BENEATH)` relative to the root's
//! descriptor: the kernel walks the key's components and refuses any step
//! out of the root, so a successful open is proof that the file lies
//! inside. Absolute symbolic links (even ones pointing back inside), and
//! kernels or sandboxes without `openat2`, take the slow way: the
//! component-by-component check of [`DirKv::checked_path`], then an open
//! by path. Both ways refuse a key that a symbolic link leads outside.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use mirage_core::{Key, KvError};

use super::{DirKv, io_err, is_missing};
use crate::sys;

/// How a key is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Only to `fstat` it (`O_PATH`): never blocks, even on a FIFO.
    Stat,
    /// To read its bytes; non-blocking, so that opening a FIFO returns.
    Read,
}

impl Access {
    fn flags(self) -> libc::c_int {
        match self {
            Access::Stat => libc::O_PATH,
            Access::Read => libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        }
    }
}

impl DirKv {
    /// The file at `key` (not the root, not reserved: the caller checks),
    /// following symbolic links that stay inside the root; `None` if nothing
    /// is there. A link leading outside is [`super::DirKvError::OutsideRoot`].
    pub(super) fn open_key(&self, key: &Key, access: Access) -> Result<Option<File>, KvError> {
        if self.beneath.get() {
            let mut rel = Vec::with_capacity(64);
            for (i, seg) in key.segments().iter().enumerate() {
                if i > 0 {
                    rel.push(b'/');
                }
                rel.extend_from_slice(seg.as_bytes());
            }
            // Key segments hold no NUL; if one did, the slow way reports it.
            if let Ok(rel) = CString::new(rel) {
                match sys::open_beneath(self.root_dir.as_fd(), &rel, access.flags()) {
                    Ok(f) => return Ok(Some(f)),
                    Err(e) if is_missing(&e) => return Ok(None),
                    // Left the root, or an absolute link: decide the slow way.
                    Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
                    Err(e) if unsupported(&e) => {
                        log::debug!("openat2 is unavailable ({e}); checking paths by hand");
                        self.beneath.set(false);
                    }
                    Err(e) => return Err(io_err(&self.path(key)?, e)),
                }
            }
        }
        let path = self.checked_path(key)?;
        match OpenOptions::new()
            .read(true)
            .custom_flags(access.flags())
            .open(&path)
        {
            Ok(f) => Ok(Some(f)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }
}

/// Whether `openat2` itself is missing or filtered (old kernel, seccomp).
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::E2BIG)
    )
}
