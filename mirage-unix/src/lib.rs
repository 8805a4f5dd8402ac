#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod block;
pub mod clock;
pub mod console;
pub mod kv;
pub mod random;
pub mod resolver;
pub mod run;
pub mod socket;
mod sys;
pub mod tap;
pub mod unix_stack;

pub use block::FileBlock;
pub use clock::SystemClock;
pub use console::StdConsole;
pub use kv::DirKv;
pub use random::OsRandom;
pub use resolver::SystemResolver;
pub use run::{
    BackendArgs, BoxError, DeviceError, Devices, NoArgs, RunError, run, run_from, run_with,
    try_run_from,
};
pub use socket::SocketStack;
pub use tap::Tap;
pub use unix_stack::UnixStack;
