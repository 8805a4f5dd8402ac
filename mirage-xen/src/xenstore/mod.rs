//! XenStore: the wire codec ([`wire`]) and a client over the shared ring
//! page ([`XenStore`]).

mod client;
pub mod wire;

pub use client::{
    MAX_QUEUED_WATCH_EVENTS, MAX_TRANSACTION_ATTEMPTS, Transaction, XenStore, XsError,
};
pub use wire::{Errno, Permission, WatchEvent};
