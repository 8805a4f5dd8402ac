//! `io/netif.h`: network-device ring entries.

use core::mem::offset_of;

use super::layout;
use crate::page::Page;
use crate::ring::RingEntry;

/// `NETTXF_csum_blank`: the checksum is not yet computed.
pub const NETTXF_CSUM_BLANK: u16 = 1 << 0;
/// `NETTXF_data_validated`: the checksum was validated.
pub const NETTXF_DATA_VALIDATED: u16 = 1 << 1;
/// `NETTXF_more_data`: the packet continues in the next request.
pub const NETTXF_MORE_DATA: u16 = 1 << 2;
/// `NETTXF_extra_info`: an extra-info slot follows.
pub const NETTXF_EXTRA_INFO: u16 = 1 << 3;

/// `NETRXF_data_validated`.
pub const NETRXF_DATA_VALIDATED: u16 = 1 << 0;
/// `NETRXF_csum_blank`.
pub const NETRXF_CSUM_BLANK: u16 = 1 << 1;
/// `NETRXF_more_data`: the packet continues in the next response.
pub const NETRXF_MORE_DATA: u16 = 1 << 2;
/// `NETRXF_extra_info`: an extra-info slot follows.
pub const NETRXF_EXTRA_INFO: u16 = 1 << 3;

/// `NETIF_RSP_DROPPED`.
pub const NETIF_RSP_DROPPED: i16 = -2;
/// `NETIF_RSP_ERROR`.
pub const NETIF_RSP_ERROR: i16 = -1;
/// `NETIF_RSP_OKAY`.
pub const NETIF_RSP_OKAY: i16 = 0;
/// `NETIF_RSP_NULL`: the slot held extra info.
pub const NETIF_RSP_NULL: i16 = 1;

/// `struct netif_tx_request`: a frame (or fragment) to send.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetifTxRequest {
    /// Grant of the page holding the data.
    pub gref: u32,
    /// Offset of the data in the page.
    pub offset: u16,
    /// `NETTXF_*`.
    pub flags: u16,
    /// Echoed in the response.
    pub id: u16,
    /// Bytes (of the whole packet in the first fragment).
    pub size: u16,
}
layout!(NetifTxRequest, 12, gref @ 0, offset @ 4, flags @ 6, id @ 8, size @ 10);

/// `struct netif_tx_response`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetifTxResponse {
    /// The request's id.
    pub id: u16,
    /// `NETIF_RSP_*`.
    pub status: i16,
}
layout!(NetifTxResponse, 4, id @ 0, status @ 2);

/// `struct netif_rx_request`: a buffer posted for a received frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetifRxRequest {
    /// Echoed in the response.
    pub id: u16,
    /// Padding.
    pub pad: u16,
    /// Grant of the buffer page.
    pub gref: u32,
}
layout!(NetifRxRequest, 8, id @ 0, gref @ 4);

/// `struct netif_rx_response`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetifRxResponse {
    /// The buffer's id.
    pub id: u16,
    /// Offset of the data in the buffer.
    pub offset: u16,
    /// `NETRXF_*`.
    pub flags: u16,
    /// Bytes received if positive, else `NETIF_RSP_*`.
    pub status: i16,
}
layout!(NetifRxResponse, 8, id @ 0, offset @ 2, flags @ 4, status @ 6);

impl RingEntry for NetifTxRequest {
    const SIZE: usize = core::mem::size_of::<Self>();
    fn read(p: &Page, o: usize) -> Self {
        NetifTxRequest {
            gref: p.read_u32(o + offset_of!(Self, gref)),
            offset: p.read_u16(o + offset_of!(Self, offset)),
            flags: p.read_u16(o + offset_of!(Self, flags)),
            id: p.read_u16(o + offset_of!(Self, id)),
            size: p.read_u16(o + offset_of!(Self, size)),
        }
    }
    fn write(&self, p: &Page, o: usize) {
        p.write_u32(o + offset_of!(Self, gref), self.gref);
        p.write_u16(o + offset_of!(Self, offset), self.offset);
        p.write_u16(o + offset_of!(Self, flags), self.flags);
        p.write_u16(o + offset_of!(Self, id), self.id);
        p.write_u16(o + offset_of!(Self, size), self.size);
    }
}

impl RingEntry for NetifTxResponse {
    const SIZE: usize = core::mem::size_of::<Self>();
    fn read(p: &Page, o: usize) -> Self {
        NetifTxResponse {
            id: p.read_u16(o + offset_of!(Self, id)),
            status: p.read_u16(o + offset_of!(Self, status)) as i16,
        }
    }
    fn write(&self, p: &Page, o: usize) {
        p.write_u16(o + offset_of!(Self, id), self.id);
        p.write_u16(o + offset_of!(Self, status), self.status as u16);
    }
}

impl RingEntry for NetifRxRequest {
    const SIZE: usize = core::mem::size_of::<Self>();
    fn read(p: &Page, o: usize) -> Self {
        NetifRxRequest {
            id: p.read_u16(o + offset_of!(Self, id)),
            pad: 0,
            gref: p.read_u32(o + offset_of!(Self, gref)),
        }
    }
    fn write(&self, p: &Page, o: usize) {
        p.write_u16(o + offset_of!(Self, id), self.id);
        p.write_u16(o + offset_of!(Self, pad), 0);
        p.write_u32(o + offset_of!(Self, gref), self.gref);
    }
}

impl RingEntry for NetifRxResponse {
    const SIZE: usize = core::mem::size_of::<Self>();
    fn read(p: &Page, o: usize) -> Self {
        NetifRxResponse {
            id: p.read_u16(o + offset_of!(Self, id)),
            offset: p.read_u16(o + offset_of!(Self, offset)),
            flags: p.read_u16(o + offset_of!(Self, flags)),
            status: p.read_u16(o + offset_of!(Self, status)) as i16,
        }
    }
    fn write(&self, p: &Page, o: usize) {
        p.write_u16(o + offset_of!(Self, id), self.id);
        p.write_u16(o + offset_of!(Self, offset), self.offset);
        p.write_u16(o + offset_of!(Self, flags), self.flags);
        p.write_u16(o + offset_of!(Self, status), self.status as u16);
    }
}
