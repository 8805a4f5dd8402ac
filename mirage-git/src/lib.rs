#![doc = include_str!("../README.md")]
//!
//! ## Layers
//!
//! - [`pktline`]: the pkt-line codec and an incremental, bounded reader.
//! - [`protocol`]: protocol v2 `ls-refs`/`fetch`, side-band, and v0
//!   `receive-pack` for push; requests built as bytes, responses parsed
//!   from any packet source.
//! - [`pack`]: verifying received packs, writing packs to push.
//! - [`transport`]: `git://`, smart `http://` (with a small HTTP/1.1
//!   client) and, with feature `std`, `file://` through the local `git`;
//!   [`transport::idle::IdleTimeout`] bounds every wait of any stack.
//! - [`store`]: the [`ObjectStore`] a client reads and writes objects
//!   through, and [`MemStore`].
//! - [`walk`]: haves, objects to push, connectivity.
//! - [`Client`]: `ls_refs`, `fetch`, `clone`, `push`.
//!
//! ## Features
//!
//! - `std` (default): `file://` URLs, served by running `git upload-pack` /
//!   `git receive-pack` through blocking pipes.

pub mod client;
pub mod error;
pub mod io;
pub mod pack;
pub mod pktline;
pub mod protocol;
pub mod store;
pub mod transport;
pub mod url;
pub mod walk;

pub use client::{Client, Expect, FetchOutcome, FetchRequest, Options, PushOutcome, RefUpdate};
pub use error::{Error, PackError, ProtocolError, RejectedUpdate};
pub use gix_hash::{ObjectId, oid};
pub use pack::Limits;
pub use protocol::v2::RemoteRef;
pub use store::{MemStore, ObjectKind, ObjectStore};
pub use url::Url;

/// What we call ourselves in `agent=` and `User-Agent:`.
pub const AGENT: &str = concat!("mirage-git/", env!("CARGO_PKG_VERSION"));
