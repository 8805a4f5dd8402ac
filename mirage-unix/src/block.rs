//! [`FileBlock`]: a block device on a host file or block device.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mirage_core::block::check_request;
use mirage_core::{Block, BlockError, BlockInfo};

/// The sector size of a [`FileBlock`] unless asked otherwise.
pub const DEFAULT_SECTOR_SIZE: u32 = 512;

/// Returned by [`FileBlock::open`].
#[derive(Debug, thiserror::Error)]
pub enum FileBlockError {
    /// The file could not be opened or examined.
    #[error("{path}: {source}")]
    Open {
        /// The path given.
        path: PathBuf,
        /// What the host said.
        #[source]
        source: io::Error,
    },
    /// The sector size is not a power of two of at least 512 bytes.
    #[error("sector size {0} is not a power of two of at least 512")]
    BadSectorSize(u32),
    /// The path is neither a regular file nor a block device.
    #[error("{0}: neither a regular file nor a block device")]
    NotAFile(PathBuf),
}

/// A [`Block`] on a regular file or a host block device.
///
/// Reads and writes are positioned (`pread`/`pwrite`) and run synchronously
/// on the instance's thread (the page cache makes them quick; a slow disk
/// stalls only this instance). [`Block::flush`] is `fdatasync`. A file
/// whose length is not a whole number of sectors ends at its last whole
/// sector. Clones share the open file.
#[derive(Debug, Clone)]
pub struct FileBlock {
    file: Rc<File>,
    info: BlockInfo,
}

fn io_error(e: io::Error) -> BlockError {
    BlockError::Io(Box::new(e))
}

impl FileBlock {
    /// Opens `path` with 512-byte sectors, for reading and writing or only
    /// for reading.
    pub fn open(path: impl AsRef<Path>, read_write: bool) -> Result<Self, FileBlockError> {
        FileBlock::open_with_sector_size(path, read_write, DEFAULT_SECTOR_SIZE)
    }

    /// Opens `path` with the given sector size (a power of two, at least 512).
    pub fn open_with_sector_size(
        path: impl AsRef<Path>,
        read_write: bool,
        sector_size: u32,
    ) -> Result<Self, FileBlockError> {
        let path = path.as_ref();
        if sector_size < 512 || !sector_size.is_power_of_two() {
            return Err(FileBlockError::BadSectorSize(sector_size));
        }
        let open_err = |source| FileBlockError::Open {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(read_write)
            .open(path)
            .map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        let len = if meta.file_type().is_block_device() {
            // The size of a block device is where seeking to the end lands.
            use std::io::Seek;
            (&file).seek(io::SeekFrom::End(0)).map_err(open_err)?
        } else if meta.is_file() {
            meta.len()
        } else {
            return Err(FileBlockError::NotAFile(path.to_owned()));
        };
        Ok(FileBlock {
            file: Rc::new(file),
            info: BlockInfo {
                sector_size,
                sectors: len / u64::from(sector_size),
                read_write,
            },
        })
    }

    fn offset(&self, sector: u64) -> u64 {
        sector * u64::from(self.info.sector_size)
    }
}

impl Block for FileBlock {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buffers: &mut [&mut [u8]]) -> Result<(), BlockError> {
        check_request(&self.info, sector, buffers.iter().map(|b| b.len()), false)?;
        let mut offset = self.offset(sector);
        for buf in buffers.iter_mut() {
            self.file.read_exact_at(buf, offset).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    // The file shrank under us.
                    BlockError::Disconnected
                } else {
                    io_error(e)
                }
            })?;
            offset += buf.len() as u64;
        }
        Ok(())
    }

    async fn write(&self, sector: u64, buffers: &[&[u8]]) -> Result<(), BlockError> {
        check_request(&self.info, sector, buffers.iter().map(|b| b.len()), true)?;
        let mut offset = self.offset(sector);
        for buf in buffers {
            self.file.write_all_at(buf, offset).map_err(io_error)?;
            offset += buf.len() as u64;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), BlockError> {
        if !self.info.read_write {
            return Err(BlockError::ReadOnly);
        }
        self.file.sync_data().map_err(io_error)
    }
}
