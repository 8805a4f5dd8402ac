//! x86-64 machine code for a PVH guest: the 32-bit entry (`entry.S`), port
//! I/O, CPUID, the interrupt descriptor table for the event-channel
//! upcall, and the halt used for idling.
//!
//! Interrupts stay disabled except inside [`halt`], so the compiler's red
//! zone (the 128 bytes below `%rsp` that leaf functions use without moving
//! `%rsp`) is never overwritten by an interrupt frame: the only code that
//! can be interrupted is the `hlt` in an assembly function, below a return
//! address.

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicPtr, Ordering};

global_asm!(include_str!("entry.S"), options(att_syntax));

pub mod cpu;
pub mod idt;

unsafe extern "C" {
    fn mirage_xen_rt_halt();
    fn mirage_xen_rt_upcall();
    /// First byte of the loaded image.
    static __image_start: u8;
    /// One past the last byte of the image, `.bss` (stack, page tables) included.
    static __image_end: u8;
}

/// Where the upcall handler clears `evtchn_upcall_pending` (null until the
/// runtime maps `shared_info`).
#[unsafe(no_mangle)]
static mirage_xen_rt_upcall_pending: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

/// Tells the upcall handler where vCPU 0's `evtchn_upcall_pending` byte is.
pub fn set_upcall_pending_byte(addr: *mut u8) {
    mirage_xen_rt_upcall_pending.store(addr, Ordering::Release);
}

/// The address of the upcall entry point, for the IDT.
pub fn upcall_entry() -> u64 {
    mirage_xen_rt_upcall as *const () as u64
}

/// The physical range `[start, end)` the image occupies.
pub fn image_range() -> core::ops::Range<u64> {
    // Only the addresses of the linker-script symbols are taken.
    (&raw const __image_start) as u64..(&raw const __image_end) as u64
}

/// Enables interrupts and halts until one arrives, then disables them again.
/// Under Xen, `hlt` with interrupts enabled is `SCHEDOP_block`.
pub fn halt() {
    // SAFETY: a function defined in entry.S that only toggles IF around hlt.
    unsafe { mirage_xen_rt_halt() }
}

/// Disables interrupts.
pub fn cli() {
    // SAFETY: clearing IF has no memory effects.
    unsafe { asm!("cli", options(nomem, nostack)) }
}

/// Stops this CPU for good: interrupts off, `hlt` forever (under Xen, `hlt`
/// with interrupts off takes the vCPU down).
pub fn stop() -> ! {
    loop {
        // SAFETY: halting with interrupts off only stops the CPU.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}
