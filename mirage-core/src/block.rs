//! Block devices: [`Block`], a disk of fixed-size sectors.

/// The shape of a block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    /// Bytes per sector (a power of two, usually 512 or 4096).
    pub sector_size: u32,
    /// Number of sectors on the device.
    pub sectors: u64,
    /// Whether writes are allowed.
    pub read_write: bool,
}

impl BlockInfo {
    /// The device's size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.sectors.saturating_mul(u64::from(self.sector_size))
    }
}

/// Why a block operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The request reaches past the end of the device; nothing was transferred.
    #[error("sectors {start}..{end} lie outside the device's {sectors} sectors")]
    OutOfRange {
        /// First sector requested.
        start: u64,
        /// One past the last sector requested.
        end: u64,
        /// Sectors on the device.
        sectors: u64,
    },
    /// A buffer's length is not a whole number of sectors.
    #[error("a buffer of {len} bytes is not a multiple of the {sector_size}-byte sector size")]
    Unaligned {
        /// The offending buffer length.
        len: usize,
        /// The device's sector size.
        sector_size: u32,
    },
    /// A write or flush was attempted on a read-only device.
    #[error("the device is read-only")]
    ReadOnly,
    /// The device has been removed or its backend disconnected.
    #[error("the device is gone (disconnected or removed)")]
    Disconnected,
    /// The backend reported an I/O failure.
    #[error("I/O error on the device: {0}")]
    Io(#[source] alloc::boxed::Box<dyn core::error::Error + Send + Sync + 'static>),
}

/// A disk: whole sectors read and written at a sector offset.
///
/// Reads and writes take several buffers (scatter/gather): they are filled
/// or written back to back starting at `sector`; each buffer's length must
/// be a multiple of the sector size. An out-of-range request fails before
/// any transfer.
#[allow(async_fn_in_trait)]
pub trait Block {
    /// Sector size, count and writability.
    fn info(&self) -> BlockInfo;

    /// Fills `buffers` with consecutive sectors starting at `sector`.
    async fn read(&self, sector: u64, buffers: &mut [&mut [u8]]) -> Result<(), BlockError>;

    /// Writes `buffers` to consecutive sectors starting at `sector`. The data
    /// is durable only after [`Block::flush`].
    async fn write(&self, sector: u64, buffers: &[&[u8]]) -> Result<(), BlockError>;

    /// Makes every completed write durable.
    async fn flush(&self) -> Result<(), BlockError>;
}

/// Checks a request against a device's shape: the helper every
/// implementation uses so they all fail the same way. Returns the number of
/// sectors the buffers cover.
pub fn check_request(
    info: &BlockInfo,
    sector: u64,
    lengths: impl Iterator<Item = usize>,
    write: bool,
) -> Result<u64, BlockError> {
    if write && !info.read_write {
        return Err(BlockError::ReadOnly);
    }
    let ss = info.sector_size as usize;
    let mut count: u64 = 0;
    for len in lengths {
        if ss == 0 || len % ss != 0 {
            return Err(BlockError::Unaligned {
                len,
                sector_size: info.sector_size,
            });
        }
        count = count.saturating_add((len / ss) as u64);
    }
    let end = sector.saturating_add(count);
    if end > info.sectors || sector > info.sectors {
        return Err(BlockError::OutOfRange {
            start: sector,
            end,
            sectors: info.sectors,
        });
    }
    Ok(count)
}

macro_rules! forward_block {
    ($($ptr:ty),*) => {$(
        impl<T: Block + ?Sized> Block for $ptr {
            fn info(&self) -> BlockInfo { (**self).info() }
            async fn read(&self, sector: u64, buffers: &mut [&mut [u8]]) -> Result<(), BlockError> {
                (**self).read(sector, buffers).await
            }
            async fn write(&self, sector: u64, buffers: &[&[u8]]) -> Result<(), BlockError> {
                (**self).write(sector, buffers).await
            }
            async fn flush(&self) -> Result<(), BlockError> { (**self).flush().await }
        }
    )*};
}
forward_block!(
    &T,
    alloc::rc::Rc<T>,
    alloc::sync::Arc<T>,
    alloc::boxed::Box<T>
);
