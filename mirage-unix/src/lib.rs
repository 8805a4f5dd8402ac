#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod block;
pub mod clock;
pub mod console;
pub mod random;
pub mod run;
pub mod socket;
pub mod unix_stack;

pub use block::FileBlock;
pub use clock::SystemClock;
pub use console::StdConsole;
pub use random::OsRandom;
pub use run::{BackendArgs, BoxError, DeviceError, Devices, NoArgs, run, run_from, run_with};
pub use socket::SocketStack;
pub use unix_stack::UnixStack;
