//! In-memory implementations of every signature, for tests and simulations.
//!
//! Everything here is deterministic: time is a [`VirtualClock`] that moves
//! only when the [`Simulation`] executor finds every task waiting, and all
//! randomness (including the [`Switch`]'s loss and reordering) comes from a
//! seed. The same seed gives the same run, frame for frame.

mod block;
mod cable;
mod clock;
mod console;
mod executor;
mod kv;
mod random;
mod resolver;
mod stack;

pub use block::MemBlock;
pub use cable::{LinkConfig, MemNetwork, MemRxToken, MemTxToken, Switch};
pub use clock::{Sleep, TimerId, VirtualClock};
pub use console::MemConsole;
pub use executor::{JoinHandle, Simulation, Spawner, Stalled};
pub use kv::MemKv;
pub use random::SeededRandom;
pub use resolver::MemResolver;
pub use stack::{
    BACKLOG, MemInternet, MemStack, MemTcpFlow, MemTcpListener, MemUdpSocket, PIPE_CAPACITY,
    UDP_MAX, UDP_QUEUE,
};
