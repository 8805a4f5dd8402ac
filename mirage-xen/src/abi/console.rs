//! `io/console.h`: the console ring page.

use super::layout;

/// Bytes in the input ring (backend to guest).
pub const IN_SIZE: u32 = 1024;
/// Bytes in the output ring (guest to backend).
pub const OUT_SIZE: u32 = 2048;

/// `XENCONSOLE_CONNECTED`.
pub const XENCONSOLE_CONNECTED: u8 = 0;
/// `XENCONSOLE_DISCONNECTED`.
pub const XENCONSOLE_DISCONNECTED: u8 = 1;

/// `struct xencons_interface`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct XenconsInterface {
    /// Input ring.
    pub input: [u8; IN_SIZE as usize],
    /// Output ring.
    pub output: [u8; OUT_SIZE as usize],
    /// Guest's input consumer index.
    pub in_cons: u32,
    /// Backend's input producer index.
    pub in_prod: u32,
    /// Backend's output consumer index.
    pub out_cons: u32,
    /// Guest's output producer index.
    pub out_prod: u32,
    /// `XENCONSOLE_*`.
    pub connection: u8,
}
layout!(XenconsInterface, 3092, input @ 0, output @ 1024, in_cons @ 3072,
    in_prod @ 3076, out_cons @ 3080, out_prod @ 3084, connection @ 3088);
