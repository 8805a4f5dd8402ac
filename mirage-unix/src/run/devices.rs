//! [`Devices`]: what one instance of an appliance is handed at start.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::block::FileBlock;
use crate::clock::SystemClock;
use crate::console::StdConsole;
use crate::kv::DirKv;
use crate::random::OsRandom;
use crate::unix_stack::UnixStack;

/// Returned by [`Devices::kv`] and [`Devices::block`] when the command line
/// named no device of that name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// No `--kv NAME=...` was given for this name.
    #[error("no key-value store named {0:?}: pass --kv {0}=dir:PATH")]
    NoKv(String),
    /// No `--block NAME=...` was given for this name.
    #[error("no block device named {0:?}: pass --block {0}=file:PATH")]
    NoBlock(String),
}

/// The devices built from the boot parameters for one instance, and the
/// application's own parsed arguments `A`.
///
/// Every instance (`--cores N`) gets its own `Devices`: its own sockets,
/// its own open files, nothing shared but the host underneath.
#[derive(Debug)]
pub struct Devices<A = crate::NoArgs> {
    pub(crate) instance: usize,
    pub(crate) instances: usize,
    pub(crate) stack: UnixStack,
    pub(crate) clock: SystemClock,
    pub(crate) random: OsRandom,
    pub(crate) console: Rc<StdConsole>,
    pub(crate) kvs: BTreeMap<String, DirKv>,
    pub(crate) blocks: BTreeMap<String, FileBlock>,
    pub(crate) args: A,
}

impl<A> Devices<A> {
    /// The transport stack chosen by `--net`.
    pub fn stack(&self) -> UnixStack {
        self.stack.clone()
    }

    /// The host's clocks and timers.
    pub fn clock(&self) -> SystemClock {
        self.clock
    }

    /// The kernel's random source.
    pub fn random(&self) -> OsRandom {
        self.random
    }

    /// Standard output and input.
    pub fn console(&self) -> Rc<StdConsole> {
        Rc::clone(&self.console)
    }

    /// The key-value store given as `--kv NAME=dir:PATH` (or `dir-ro:`).
    pub fn kv(&self, name: &str) -> Result<DirKv, DeviceError> {
        self.kvs
            .get(name)
            .cloned()
            .ok_or_else(|| DeviceError::NoKv(name.to_owned()))
    }

    /// The block device given as `--block NAME=file:PATH`.
    pub fn block(&self, name: &str) -> Result<FileBlock, DeviceError> {
        self.blocks
            .get(name)
            .cloned()
            .ok_or_else(|| DeviceError::NoBlock(name.to_owned()))
    }

    /// The application's own arguments.
    pub fn args(&self) -> &A {
        &self.args
    }

    /// Which instance this is, from 0 to [`Devices::instances`] - 1.
    pub fn instance(&self) -> usize {
        self.instance
    }

    /// How many instances run (`--cores`).
    pub fn instances(&self) -> usize {
        self.instances
    }
}
