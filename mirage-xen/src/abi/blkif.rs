//! `io/blkif.h`: block-device ring entries.

use core::mem::offset_of;

use super::layout;
use crate::page::Page;
use crate::ring::RingEntry;

/// `BLKIF_OP_READ`.
pub const BLKIF_OP_READ: u8 = 0;
/// `BLKIF_OP_WRITE`.
pub const BLKIF_OP_WRITE: u8 = 1;
/// `BLKIF_OP_WRITE_BARRIER`.
pub const BLKIF_OP_WRITE_BARRIER: u8 = 2;
/// `BLKIF_OP_FLUSH_DISKCACHE`.
pub const BLKIF_OP_FLUSH_DISKCACHE: u8 = 3;

/// `BLKIF_MAX_SEGMENTS_PER_REQUEST`.
pub const BLKIF_MAX_SEGMENTS_PER_REQUEST: usize = 11;

/// `BLKIF_RSP_EOPNOTSUPP`.
pub const BLKIF_RSP_EOPNOTSUPP: i16 = -2;
/// `BLKIF_RSP_ERROR`.
pub const BLKIF_RSP_ERROR: i16 = -1;
/// `BLKIF_RSP_OKAY`.
pub const BLKIF_RSP_OKAY: i16 = 0;

/// `VDISK_CDROM`.
pub const VDISK_CDROM: u32 = 0x1;
/// `VDISK_REMOVABLE`.
pub const VDISK_REMOVABLE: u32 = 0x2;
/// `VDISK_READONLY`.
pub const VDISK_READONLY: u32 = 0x4;

/// Ring sector numbers and segment bounds are in these units, whatever the
/// device's logical `sector-size`.
pub const BLKIF_SECTOR_SIZE: usize = 512;

/// `struct blkif_request_segment`: part of one granted page.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkifRequestSegment {
    /// Grant of the buffer page.
    pub gref: u32,
    /// First 512-byte sector in the page to transfer.
    pub first_sect: u8,
    /// Last 512-byte sector in the page to transfer (inclusive).
    pub last_sect: u8,
    /// Padding.
    pub pad: u16,
}
layout!(BlkifRequestSegment, 8, gref @ 0, first_sect @ 4, last_sect @ 5);

/// `struct blkif_request` (x86-64 layout).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkifRequest {
    /// `BLKIF_OP_*`.
    pub operation: u8,
    /// Segments used.
    pub nr_segments: u8,
    /// Device handle (unused by single-device frontends).
    pub handle: u16,
    /// Padding (alignment of `id`).
    pub pad: u32,
    /// Echoed in the response.
    pub id: u64,
    /// First 512-byte sector on the disk.
    pub sector_number: u64,
    /// The data.
    pub seg: [BlkifRequestSegment; BLKIF_MAX_SEGMENTS_PER_REQUEST],
}
layout!(BlkifRequest, 112, operation @ 0, nr_segments @ 1, handle @ 2, id @ 8,
    sector_number @ 16, seg @ 24);

/// `struct blkif_response`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkifResponse {
    /// The request's id.
    pub id: u64,
    /// The request's operation.
    pub operation: u8,
    /// `BLKIF_RSP_*`.
    pub status: i16,
}
layout!(BlkifResponse, 16, id @ 0, operation @ 8, status @ 10);

impl RingEntry for BlkifRequest {
    const SIZE: usize = core::mem::size_of::<Self>();
    fn read(p: &Page, o: usize) -> Self {
        let mut seg = [BlkifRequestSegment::default(); BLKIF_MAX_SEGMENTS_PER_REQUEST];
        for (i, s) in seg.iter_mut().enumerate() {
            let so = o + offset_of!(Self, seg) + i * 8;
            *s = BlkifRequestSegment {
                gref: p.read_u32(so + offset_of!(BlkifRequestSegment, gref)),
                first_sect: p.read_u8(so + offset_of!(BlkifRequestSegment, first_sect)),
                last_sect: p.read_u8(so + offset_of!(BlkifRequestSegment, last_sect)),
                pad: 0,
            };
        }
        BlkifRequest {
            operation: p.read_u8(o + offset_of!(Self, operation)),
            nr_segments: p.read_u8(o + offset_of!(Self, nr_segments)),
            handle: p.read_u16(o + offset_of!(Self, handle)),
            pad: 0,
            id: p.read_u64(o + offset_of!(Self, id)),
            sector_number: p.read_u64(o + offset_of!(Self, sector_number)),
            seg,
        }
    }
    fn write(&self, p: &Page, o: usize) {
        p.write_u8(o + offset_of!(Self, operation), self.operation);
        p.write_u8(o + offset_of!(Self, nr_segments), self.nr_segments);
        p.write_u16(o + offset_of!(Self, handle), self.handle);
        p.write_u32(o + offset_of!(Self, pad), 0);
        p.write_u64(o + offset_of!(Self, id), self.id);
        p.write_u64(o + offset_of!(Self, sector_number), self.sector_number);
        for (i, s) in self.seg.iter().enumerate() {
            let so = o + offset_of!(Self, seg) + i * 8;
            p.write_u32(so + offset_of!(BlkifRequestSegment, gref), s.gref);
            p.write_u8(
                so + offset_of!(BlkifRequestSegment, first_sect),
                s.first_sect,
            );
            p.write_u8(so + offset_of!(BlkifRequestSegment, last_sect), s.last_sect);
            p.write_u16(so + offset_of!(BlkifRequestSegment, pad), 0);
        }
    }
}

impl RingEntry for BlkifResponse {
    const SIZE: usize = core::mem::size_of::<Self>();
    fn read(p: &Page, o: usize) -> Self {
        BlkifResponse {
            id: p.read_u64(o + offset_of!(Self, id)),
            operation: p.read_u8(o + offset_of!(Self, operation)),
            status: p.read_u16(o + offset_of!(Self, status)) as i16,
        }
    }
    fn write(&self, p: &Page, o: usize) {
        p.write_u64(o + offset_of!(Self, id), self.id);
        p.write_u8(o + offset_of!(Self, operation), self.operation);
        p.write_u16(o + offset_of!(Self, status), self.status as u16);
    }
}
