//! The debug console: bytes written to I/O port 0xE9.
//!
//! QEMU prints them with `-debugcon` (or `isa-debugcon`); Xen prints an HVM
//! or PVH guest's port-0xE9 bytes on its own console, one line at a time,
//! prefixed `(d<domid>)`, when booted with `guest_loglvl=all`. It needs no
//! setup, so it works from the first instruction of Rust code to the panic
//! handler.

use core::fmt;

use mirage_core::console::{Console, ConsoleError};

use crate::arch::cpu::outb;

/// The port QEMU's debugcon and Xen's HVM debug port listen on.
pub const DEBUGCON_PORT: u16 = 0xe9;

/// A [`fmt::Write`] sink to port 0xE9.
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugCon;

impl fmt::Write for DebugCon {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| outb(DEBUGCON_PORT, b));
        Ok(())
    }
}

/// Implementation of [`print!`](crate::print); not for direct use.
#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut DebugCon, args);
}

/// Prints to the debug console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::debugcon::_print(format_args!($($arg)*)) };
}

/// Prints a line to the debug console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::print!("{}\n", format_args!($($arg)*)) };
}

/// The mirage-core [`Console`] on the debug port: writes lines, reads
/// nothing (the port is output only, so input is at its end at once).
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugConsole;

impl Console for DebugConsole {
    async fn write_line(&self, line: &str) -> Result<(), ConsoleError> {
        _print(format_args!("{line}\n"));
        Ok(())
    }

    async fn read_line(&self) -> Result<Option<alloc::string::String>, ConsoleError> {
        Ok(None)
    }
}
