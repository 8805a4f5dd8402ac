//! [`MemBlock`]: a RAM disk.

use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::block::{Block, BlockError, BlockInfo, check_request};

/// A block device in memory, optionally read-only.
#[derive(Debug)]
pub struct MemBlock {
    info: BlockInfo,
    data: RefCell<Vec<u8>>,
}

impl MemBlock {
    /// A zero-filled read-write device of `sectors` sectors of `sector_size`
    /// bytes. Returns `None` if the size overflows memory or `sector_size`
    /// is not a power of two.
    pub fn new(sector_size: u32, sectors: u64) -> Option<MemBlock> {
        if !sector_size.is_power_of_two() {
            return None;
        }
        let len = usize::try_from(sectors.checked_mul(u64::from(sector_size))?).ok()?;
        Some(MemBlock {
            info: BlockInfo {
                sector_size,
                sectors,
                read_write: true,
            },
            data: RefCell::new(vec![0; len]),
        })
    }

    /// A device holding `image` (whose length must be a multiple of
    /// `sector_size`), read-only when `read_write` is false.
    pub fn from_image(sector_size: u32, image: Vec<u8>, read_write: bool) -> Option<MemBlock> {
        if !sector_size.is_power_of_two() || !image.len().is_multiple_of(sector_size as usize) {
            return None;
        }
        Some(MemBlock {
            info: BlockInfo {
                sector_size,
                sectors: (image.len() / sector_size as usize) as u64,
                read_write,
            },
            data: RefCell::new(image),
        })
    }

    /// A copy of the whole device's contents.
    pub fn image(&self) -> Vec<u8> {
        self.data.borrow().clone()
    }
}

impl Block for MemBlock {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buffers: &mut [&mut [u8]]) -> Result<(), BlockError> {
        check_request(&self.info, sector, buffers.iter().map(|b| b.len()), false)?;
        let data = self.data.borrow();
        let mut off = (sector * u64::from(self.info.sector_size)) as usize;
        for b in buffers.iter_mut() {
            b.copy_from_slice(&data[off..off + b.len()]);
            off += b.len();
        }
        Ok(())
    }

    async fn write(&self, sector: u64, buffers: &[&[u8]]) -> Result<(), BlockError> {
        check_request(&self.info, sector, buffers.iter().map(|b| b.len()), true)?;
        let mut data = self.data.borrow_mut();
        let mut off = (sector * u64::from(self.info.sector_size)) as usize;
        for b in buffers {
            data[off..off + b.len()].copy_from_slice(b);
            off += b.len();
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), BlockError> {
        if self.info.read_write {
            Ok(())
        } else {
            Err(BlockError::ReadOnly)
        }
    }
}
