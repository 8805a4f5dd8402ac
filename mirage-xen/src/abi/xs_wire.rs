//! `io/xs_wire.h`: XenStore message types, header, errors and ring page.

use super::layout;

/// `struct xsd_sockmsg`: the 16-byte header before every message.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XsdSockmsg {
    /// `XS_*` message type.
    pub ty: u32,
    /// Request id, echoed in the reply.
    pub req_id: u32,
    /// Transaction id, 0 outside a transaction.
    pub tx_id: u32,
    /// Payload bytes after the header.
    pub len: u32,
}
layout!(XsdSockmsg, 16, ty @ 0, req_id @ 4, tx_id @ 8, len @ 12);

/// `XS_DIRECTORY`.
pub const XS_DIRECTORY: u32 = 1;
/// `XS_READ`.
pub const XS_READ: u32 = 2;
/// `XS_GET_PERMS`.
pub const XS_GET_PERMS: u32 = 3;
/// `XS_WATCH`.
pub const XS_WATCH: u32 = 4;
/// `XS_UNWATCH`.
pub const XS_UNWATCH: u32 = 5;
/// `XS_TRANSACTION_START`.
pub const XS_TRANSACTION_START: u32 = 6;
/// `XS_TRANSACTION_END`.
pub const XS_TRANSACTION_END: u32 = 7;
/// `XS_GET_DOMAIN_PATH`.
pub const XS_GET_DOMAIN_PATH: u32 = 10;
/// `XS_WRITE`.
pub const XS_WRITE: u32 = 11;
/// `XS_MKDIR`.
pub const XS_MKDIR: u32 = 12;
/// `XS_RM`.
pub const XS_RM: u32 = 13;
/// `XS_SET_PERMS`.
pub const XS_SET_PERMS: u32 = 14;
/// `XS_WATCH_EVENT`: an asynchronous watch firing (req_id 0).
pub const XS_WATCH_EVENT: u32 = 15;
/// `XS_ERROR`: the payload is an errno name such as `ENOENT`.
pub const XS_ERROR: u32 = 16;
/// `XS_TYPE_COUNT` in Xen 4.17: types at or above it are invalid.
pub const XS_TYPE_COUNT: u32 = 23;

/// `XENSTORE_RING_SIZE`.
pub const XENSTORE_RING_SIZE: u32 = 1024;
/// `XENSTORE_PAYLOAD_MAX`.
pub const XENSTORE_PAYLOAD_MAX: u32 = 4096;
/// `XENSTORE_ABS_PATH_MAX`.
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;

/// `XENSTORE_CONNECTED`.
pub const XENSTORE_CONNECTED: u32 = 0;

/// `struct xenstore_domain_interface` (Xen 4.17 fields).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct XenstoreDomainInterface {
    /// Requests to the daemon.
    pub req: [u8; XENSTORE_RING_SIZE as usize],
    /// Replies and watch events.
    pub rsp: [u8; XENSTORE_RING_SIZE as usize],
    /// Daemon's request consumer index.
    pub req_cons: u32,
    /// Guest's request producer index.
    pub req_prod: u32,
    /// Guest's reply consumer index.
    pub rsp_cons: u32,
    /// Daemon's reply producer index.
    pub rsp_prod: u32,
    /// `XENSTORE_SERVER_FEATURE_*`.
    pub server_features: u32,
    /// `XENSTORE_CONNECTED` or `XENSTORE_RECONNECT`.
    pub connection: u32,
    /// `XENSTORE_ERROR_*`.
    pub error: u32,
}
layout!(XenstoreDomainInterface, 2076, req @ 0, rsp @ 1024, req_cons @ 2048,
    req_prod @ 2052, rsp_cons @ 2056, rsp_prod @ 2060, server_features @ 2064,
    connection @ 2068, error @ 2072);
