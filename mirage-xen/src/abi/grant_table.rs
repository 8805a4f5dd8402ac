//! `grant_table.h`: grant-table v1 entries, flags and operations.

use super::layout;

/// `GNTTABOP_map_grant_ref`.
pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
/// `GNTTABOP_unmap_grant_ref`.
pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
/// `GNTTABOP_setup_table`.
pub const GNTTABOP_SETUP_TABLE: u32 = 2;
/// `GNTTABOP_copy`.
pub const GNTTABOP_COPY: u32 = 5;
/// `GNTTABOP_query_size`.
pub const GNTTABOP_QUERY_SIZE: u32 = 6;
/// `GNTTABOP_set_version`.
pub const GNTTABOP_SET_VERSION: u32 = 8;

/// `GTF_invalid`: the entry grants nothing.
pub const GTF_INVALID: u16 = 0;
/// `GTF_permit_access`: the named domain may map or copy the frame.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// `GTF_type_mask`.
pub const GTF_TYPE_MASK: u16 = 3;
/// `GTF_readonly`: the grantee may only read.
pub const GTF_READONLY: u16 = 1 << 2;
/// `GTF_reading`: set by Xen while the grantee has the frame mapped or is copying from it.
pub const GTF_READING: u16 = 1 << 3;
/// `GTF_writing`: set by Xen while the grantee has the frame mapped writable or is copying to it.
pub const GTF_WRITING: u16 = 1 << 4;

/// `GNTTAB_NR_RESERVED_ENTRIES`: references the toolstack uses (console, XenStore).
pub const GNTTAB_NR_RESERVED_ENTRIES: u32 = 8;
/// `GNTTAB_RESERVED_CONSOLE`.
pub const GNTTAB_RESERVED_CONSOLE: u32 = 0;
/// `GNTTAB_RESERVED_XENSTORE`.
pub const GNTTAB_RESERVED_XENSTORE: u32 = 1;

/// `GNTST_okay`.
pub const GNTST_OKAY: i16 = 0;
/// `GNTST_general_error`.
pub const GNTST_GENERAL_ERROR: i16 = -1;
/// `GNTST_bad_domain`.
pub const GNTST_BAD_DOMAIN: i16 = -2;
/// `GNTST_bad_gntref`.
pub const GNTST_BAD_GNTREF: i16 = -3;
/// `GNTST_permission_denied`.
pub const GNTST_PERMISSION_DENIED: i16 = -8;

/// `struct grant_entry_v1`: one slot of the granting domain's table.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantEntryV1 {
    /// `GTF_*`.
    pub flags: u16,
    /// The domain being granted access.
    pub domid: u16,
    /// The granted frame.
    pub frame: u32,
}
layout!(GrantEntryV1, 8, flags @ 0, domid @ 2, frame @ 4);

/// Grant entries in one 4 KiB table frame.
pub const ENTRIES_PER_FRAME: u32 = 4096 / 8;

/// `struct gnttab_setup_table` (the frame list is a guest handle).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct GnttabSetupTable {
    /// Domain (`DOMID_SELF`).
    pub dom: u16,
    /// Frames wanted.
    pub nr_frames: u32,
    /// `GNTST_*` (out).
    pub status: i16,
    /// Guest pointer to a `xen_pfn_t` array (out).
    pub frame_list: u64,
}
layout!(GnttabSetupTable, 24, dom @ 0, nr_frames @ 4, status @ 8, frame_list @ 16);

/// `struct gnttab_query_size`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct GnttabQuerySize {
    /// Domain (`DOMID_SELF`).
    pub dom: u16,
    /// Frames in use (out).
    pub nr_frames: u32,
    /// Frames allowed (out).
    pub max_nr_frames: u32,
    /// `GNTST_*` (out).
    pub status: i16,
}
layout!(GnttabQuerySize, 16, dom @ 0, nr_frames @ 4, max_nr_frames @ 8, status @ 12);

/// `struct gnttab_set_version`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct GnttabSetVersion {
    /// 1 or 2 (in); the version in force (out).
    pub version: u32,
}
layout!(GnttabSetVersion, 4);
