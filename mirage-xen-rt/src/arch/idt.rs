//! A minimal interrupt descriptor table: the CPU exceptions (which print and
//! crash the guest) and the event-channel upcall vector (the boot code never
//! enables interrupts outside the idle halt, so only the upcall vector can
//! arrive).

use core::arch::asm;
use core::cell::UnsafeCell;

/// The vector Xen raises for event-channel upcalls (`HVM_PARAM_CALLBACK_IRQ`
/// of type vector).
pub const UPCALL_VECTOR: u8 = 0xf3;

/// The operand of `lidt` and `lgdt`: a descriptor table's size less one
/// and its address.
#[repr(C, packed)]
pub struct TablePointer {
    limit: u16,
    base: u64,
}

impl TablePointer {
    /// Points at `bytes` bytes of table at `base`.
    pub fn new(base: u64, bytes: usize) -> TablePointer {
        TablePointer {
            limit: (bytes - 1) as u16,
            base,
        }
    }
}

#[repr(C, align(16))]
struct Idt(UnsafeCell<[u64; 512]>);

// SAFETY: written once during single-threaded boot, then only read by the CPU.
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(UnsafeCell::new([0; 512]));

/// Installs an interrupt gate at `vector` for `handler` (code selector 0x08,
/// the boot GDT's 64-bit segment) and loads the IDT.
pub fn install(vector: u8, handler: u64) {
    install_with_stack(vector, handler, 0);
}

/// As [`install`], with the handler run on interrupt stack `ist` (1-7 of
/// the task state segment; 0 for the current stack).
pub fn install_with_stack(vector: u8, handler: u64, ist: u8) {
    let lo = (handler & 0xffff)
        | (0x08 << 16)
        | (u64::from(ist & 7) << 32)
        | (0x8e00u64 << 32) // present, DPL 0, 64-bit interrupt gate
        | ((handler >> 16) & 0xffff) << 48;
    let hi = handler >> 32;
    let i = usize::from(vector) * 2;
    // SAFETY: single-threaded boot, interrupts disabled: nothing reads the
    // table while it is written.
    unsafe {
        let idt = &mut *IDT.0.get();
        idt[i] = lo;
        idt[i + 1] = hi;
    }
    let ptr = TablePointer::new(IDT.0.get() as u64, 512 * 8);
    // SAFETY: the table is static and its entries are valid or not present.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags)) }
}
