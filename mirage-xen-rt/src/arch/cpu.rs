//! Port I/O and CPUID.

use core::arch::asm;
use core::arch::x86_64::__cpuid;

/// Writes a byte to an I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: the runtime only writes the debug console (0xE9) and the
    // debug-exit port (0xF4), neither of which touches memory.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

/// Writes a 32-bit word to an I/O port.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is available on every x86-64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Xen's CPUID leaves: the base (0x40000000 + n * 0x100) whose signature is
/// "XenVMMXenVMM", and the highest leaf it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XenCpuid {
    /// The base leaf.
    pub base: u32,
    /// The highest leaf (`eax` of the base leaf).
    pub max_leaf: u32,
}

impl XenCpuid {
    /// Looks for Xen's signature; `None` when not running under Xen.
    #[allow(unused_unsafe)] // `__cpuid` is an unsafe fn before Rust 1.87.
    pub fn detect() -> Option<XenCpuid> {
        (0x4000_0000u32..0x4001_0000)
            .step_by(0x100)
            .find_map(|base| {
                // SAFETY: CPUID exists on every x86-64 CPU.
                let l = unsafe { __cpuid(base) };
                let sig = [l.ebx, l.ecx, l.edx];
                (sig == [0x566e_6558, 0x6558_4d4d, 0x4d4d_566e]).then_some(XenCpuid {
                    base,
                    max_leaf: l.eax,
                })
            })
    }

    /// Xen's version as (major, minor), from the base+1 leaf.
    #[allow(unused_unsafe)]
    pub fn version(&self) -> (u16, u16) {
        // SAFETY: as above.
        let l = unsafe { __cpuid(self.base + 1) };
        ((l.eax >> 16) as u16, l.eax as u16)
    }
}

/// Whether the CPU has `RDRAND`.
#[allow(unused_unsafe)]
pub fn has_rdrand() -> bool {
    // SAFETY: CPUID exists on every x86-64 CPU.
    unsafe { __cpuid(1) }.ecx & (1 << 30) != 0
}
