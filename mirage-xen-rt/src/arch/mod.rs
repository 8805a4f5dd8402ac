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
pub mod guard;
pub mod idt;

unsafe extern "C" {
    fn mirage_xen_rt_halt();
    fn mirage_xen_rt_upcall();
    /// Entry points for CPU exceptions 0-31.
    static mirage_xen_rt_exception_entries: [u64; 32];
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

/// Installs handlers for the 32 CPU exceptions: each prints the vector,
/// error code, faulting address and `%cr2`, then crashes the guest.
pub fn install_exception_handlers() {
    // SAFETY: a table of 32 code addresses defined in entry.S, copied out.
    let entries: [u64; 32] = unsafe { mirage_xen_rt_exception_entries };
    for (vector, &entry) in entries.iter().enumerate() {
        idt::install(vector as u8, entry);
    }
}

/// Unmaps a guard page below the boot stack and runs page faults and double
/// faults on a stack of their own, so a stack overflow is reported (see
/// [`guard`]). Call after [`install_exception_handlers`].
pub fn install_stack_guard() {
    guard::install();
    // SAFETY: a table of 32 code addresses defined in entry.S, copied out.
    let entries: [u64; 32] = unsafe { mirage_xen_rt_exception_entries };
    for vector in [8u8, 14] {
        idt::install_with_stack(vector, entries[usize::from(vector)], guard::FAULT_STACK);
    }
}

/// What the CPU and the entry stub left on the stack.
#[repr(C)]
struct ExceptionFrame {
    vector: u64,
    error: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

const EXCEPTION_NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 floating point",
    "alignment check",
    "machine check",
    "SIMD floating point",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security",
    "reserved",
];

#[unsafe(no_mangle)]
extern "C" fn mirage_xen_rt_exception(frame: &ExceptionFrame) -> ! {
    let cr2: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack, preserves_flags)) };
    let name = EXCEPTION_NAMES
        .get(frame.vector as usize)
        .copied()
        .unwrap_or("?");
    if (frame.vector == 14 || frame.vector == 8) && guard::is_stack_overflow(cr2) {
        crate::println!(
            "mirage-xen-rt: stack overflow (the boot stack's guard page at {:#x} was touched)",
            guard::guard_page()
        );
    }
    crate::println!(
        "mirage-xen-rt: CPU exception {} ({name}), error {:#x}, rip {:#x}, rsp {:#x}, rflags {:#x}, cr2 {cr2:#x}",
        frame.vector,
        frame.error,
        frame.rip,
        frame.rsp,
        frame.rflags
    );
    let _ = (frame.cs, frame.ss);
    crate::boot::crash()
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
