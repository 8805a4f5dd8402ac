#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

pub mod abi;
pub mod blkfront;
pub mod console;
pub mod evtchn;
pub mod grant;
pub mod guest;
pub mod hypercall;
pub mod netfront;
pub mod page;
pub mod ring;
#[cfg(feature = "sim")]
pub mod sim;
pub mod xenbus;
pub mod xenstore;

pub use blkfront::{Blkfront, BlkfrontError};
pub use console::XenConsole;
pub use guest::{ConnectError, Xen};
pub use hypercall::{HypercallError, Hypervisor};
pub use netfront::{Netfront, NetfrontError, NetfrontOptions};
pub use page::Page;
