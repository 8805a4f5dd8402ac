//! The Xen public ABI: structures and constants from `xen/include/public`
//! (Xen 4.17), laid out `#[repr(C)]` for x86-64 with compile-time size and
//! offset assertions against the headers.
//!
//! Structures read in place from shared memory are accessed through
//! [`Page`](crate::page::Page) offsets taken from these definitions with
//! `core::mem::offset_of!`, so a layout mistake fails the build instead of
//! corrupting a ring.

pub mod blkif;
pub mod console;
pub mod event_channel;
pub mod grant_table;
pub mod hvm;
pub mod netif;
pub mod xen;
pub mod xs_wire;

/// A domain id (`domid_t`).
pub type DomId = u16;
/// An event-channel port (`evtchn_port_t`).
pub type Port = u32;
/// A grant reference (`grant_ref_t`).
pub type GrantRef = u32;
/// A guest frame number (`xen_pfn_t`).
pub type Gfn = u64;

/// `DOMID_SELF`: the calling domain.
pub const DOMID_SELF: DomId = 0x7ff0;

/// Asserts a type's size and each named field's offset at compile time.
macro_rules! layout {
    ($t:ty, $size:expr $(, $field:ident @ $off:expr)* $(,)?) => {
        const _: () = {
            assert!(core::mem::size_of::<$t>() == $size);
            $(assert!(core::mem::offset_of!($t, $field) == $off);)*
        };
    };
}
pub(crate) use layout;
