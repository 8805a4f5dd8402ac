#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

pub mod block;
pub mod console;
pub mod key;
pub mod kv;
mod kv_subtree;
pub mod network;
pub mod random;
pub mod region;
pub mod resolver;
pub mod stack;
pub mod time;

#[cfg(feature = "mem")]
pub mod mem;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use block::{Block, BlockError, BlockInfo};
pub use bytes::{Bytes, BytesMut};
pub use console::{Console, ConsoleError};
pub use key::{Key, KeyError};
pub use kv::{Change, Digest, EntryKind, KvError, KvRo, KvRw, Metadata};
pub use kv_subtree::Subtree;
pub use network::{
    Capabilities, LinkState, MacAddress, Network, NetworkCounters, RxToken, TxToken,
};
pub use random::Random;
pub use region::{Region, RegionSource, SendRegionError};
pub use resolver::{LiteralResolver, ResolveError, Resolver};
pub use stack::{Stack, StackError, TcpFlow, TcpListener, UdpSocket};
pub use time::{
    Clock, Elapsed, Instant, MonotonicClock, PosixTime, Time, WallClock, timeout, timeout_at,
};
