//! Contract test suites that any backend runs against its devices.
//!
//! Each suite is an `async fn` that exercises one signature's documented
//! contract and panics with a message naming the broken rule. Backends call
//! them from their own tests, in their own executor:
//!
//! ```
//! # #[cfg(feature = "conformance")] {
//! use mirage_core::mem::{MemKv, Simulation};
//! let mut sim = Simulation::new(1);
//! let kv = MemKv::new(sim.clock());
//! sim.block_on(mirage_core::conformance::kv_rw(&kv)).unwrap();
//! # }
//! ```
//!
//! So mirage-unix's `DirKv`, mirage-irmin's Git store and mirage-xen's
//! devices are all held to the same rules as the in-memory ones.

mod block;
mod clock;
mod kv;
mod stack;

pub use block::{block, block_read_only};
pub use clock::{random, time, wall_clock};
pub use kv::{kv_ro, kv_rw};
pub use stack::stack;
