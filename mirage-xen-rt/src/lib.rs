#![cfg_attr(not(test), no_std)]
#![doc = include_str!("../README.md")]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// The Xen PV protocols this runtime drives (re-exported for guests).
pub use mirage_xen;

pub mod bootinfo;
pub mod clock;
pub mod control;
pub mod executor;
pub mod memory;
pub mod params;

#[cfg(feature = "pvh")]
pub mod arch;
#[cfg(feature = "pvh")]
pub mod boot;
#[cfg(feature = "pvh")]
pub mod debugcon;
#[cfg(feature = "pvh")]
pub mod hypercall;
#[cfg(all(feature = "pvh", feature = "std"))]
pub mod libc;
#[cfg(feature = "pvh")]
mod mem;
#[cfg(feature = "pvh")]
pub mod random;
#[cfg(feature = "pvh")]
pub mod run;
#[cfg(feature = "pvh")]
mod tls;
#[cfg(feature = "pvh")]
pub mod xen;

#[cfg(feature = "pvh")]
pub use boot::{Boot, crash, poweroff};
#[cfg(feature = "pvh")]
pub use run::{DeviceError, Devices, run};
