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

use mirage_core::{EntryKind, Key, KvError, PosixTime};

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

/// What [`DirKv::stat_top`] found.
pub(super) enum Top {
    /// Nothing is there.
    Missing,
    /// A value or a dictionary, its size and modification time.
    Found(EntryKind, u64, PosixTime),
    /// Something else (a symbolic link, a FIFO): ask the general way.
    Other,
}

impl DirKv {
    /// For a key of one segment: what is at it, from one `fstatat` in the
    /// root's directory that does not follow a symbolic link, so what it
    /// finds is inside the root. Saves opening and closing a descriptor
    /// for the common case of a file at the top of a site.
    pub(super) fn stat_top(&self, name: &str) -> Result<Top, KvError> {
        let Ok(c_name) = CString::new(name) else {
            return Ok(Top::Other);
        };
        let st = match sys::stat_entry(self.root_dir.as_fd(), &c_name) {
            Ok(st) => st,
            Err(e) if is_missing(&e) => return Ok(Top::Missing),
            Err(e) => return Err(io_err(&self.root.join(name), e)),
        };
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => EntryKind::Value,
            libc::S_IFDIR => EntryKind::Dictionary,
            _ => return Ok(Top::Other),
        };
        let modified = posix_of(st.st_mtime, st.st_mtime_nsec);
        Ok(Top::Found(
            kind,
            u64::try_from(st.st_size).unwrap_or(0),
            modified,
        ))
    }
}

/// A `stat` time stamp (seconds and nanoseconds since the epoch, the
/// nanoseconds in 0..1e9) as a [`PosixTime`].
fn posix_of(secs: i64, nanos: i64) -> PosixTime {
    PosixTime {
        secs,
        nanos: u32::try_from(nanos.clamp(0, 999_999_999)).unwrap_or(0),
    }
}

/// Whether `openat2` itself is missing or filtered (old kernel, seccomp).
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::E2BIG)
    )
}
