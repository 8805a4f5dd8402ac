//! A guard page below the boot stack, and a stack of their own for the
//! faults an overflow raises.
//!
//! The boot stack (256 KiB in `.bss`, see `entry.S`) sits just above the
//! page directory, so without a guard a deep recursion would silently
//! overwrite the page tables. Here the 2 MiB page holding the stack's lowest
//! page is split into 4 KiB pages with that one left unmapped, and page
//! faults and double faults run on interrupt stack 1 of a task state
//! segment: an overflow then ends in the exception handler, which says so
//! and crashes the guest.

use core::arch::asm;
use core::cell::UnsafeCell;

unsafe extern "C" {
    /// The lowest page of the boot stack (from `entry.S`).
    static mirage_xen_rt_boot_stack: u8;
    /// The boot page directories: 2048 entries mapping 4 GiB with 2 MiB pages.
    static mirage_xen_rt_boot_pd: u8;
}

const PAGE: u64 = 4096;
const LARGE_PAGE: u64 = 2 << 20;
const PRESENT_WRITABLE: u64 = 0x3;

/// The interrupt stack (IST index) for page faults and double faults.
pub const FAULT_STACK: u8 = 1;

#[repr(C, align(4096))]
struct PageTable(UnsafeCell<[u64; 512]>);

/// The 64-bit task state segment: only the interrupt stack table is used.
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

#[repr(C, align(16))]
struct FaultStack(UnsafeCell<[u8; 16384]>);

#[repr(C, align(16))]
struct Gdt(UnsafeCell<[u64; 5]>);

#[repr(C, align(16))]
struct TssCell(UnsafeCell<Tss>);

// SAFETY: each of these four is written once during single-threaded boot
// with interrupts disabled, then only used by the CPU.
unsafe impl Sync for PageTable {}
// SAFETY: as above.
unsafe impl Sync for FaultStack {}
// SAFETY: as above.
unsafe impl Sync for Gdt {}
// SAFETY: as above.
unsafe impl Sync for TssCell {}

static GUARD_TABLE: PageTable = PageTable(UnsafeCell::new([0; 512]));
static FAULT_STACK_MEMORY: FaultStack = FaultStack(UnsafeCell::new([0; 16384]));
static TSS: TssCell = TssCell(UnsafeCell::new(Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: core::mem::size_of::<Tss>() as u16,
}));
/// The boot GDT's code (0x08) and data (0x10) segments, then the TSS (0x18).
static GDT: Gdt = Gdt(UnsafeCell::new([
    0,
    0x00AF_9A00_0000_FFFF,
    0x00CF_9200_0000_FFFF,
    0,
    0,
]));

/// The guard page's address.
pub fn guard_page() -> u64 {
    // Only the address of the linker symbol is taken.
    (&raw const mirage_xen_rt_boot_stack) as u64
}

/// Whether a faulting address lies in the guard page.
pub fn is_stack_overflow(fault_address: u64) -> bool {
    (guard_page()..guard_page() + PAGE).contains(&fault_address)
}

/// Unmaps the guard page and moves page and double faults to their own
/// stack. Called once at boot, before anything runs deep.
pub fn install() {
    let guard = guard_page();
    let region = guard & !(LARGE_PAGE - 1);
    let pd = (&raw const mirage_xen_rt_boot_pd).cast_mut().cast::<u64>();
    let table = GUARD_TABLE.0.get();
    // SAFETY: single-threaded boot with interrupts off. The new table maps
    // the same 2 MiB as the large page it replaces, page for page, except
    // the guard page; the page directory entry is swapped in one write and
    // CR3 is reloaded to drop the old translations. The GDT keeps the code
    // and data descriptors the CPU already uses at the same selectors.
    unsafe {
        let entries = &mut *table;
        for (i, e) in entries.iter_mut().enumerate() {
            let page = region + i as u64 * PAGE;
            *e = if page == guard {
                0
            } else {
                page | PRESENT_WRITABLE
            };
        }
        pd.add((region / LARGE_PAGE) as usize)
            .write_volatile(table as u64 | PRESENT_WRITABLE);
        asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack, preserves_flags));

        let stack_top = FAULT_STACK_MEMORY.0.get() as u64 + 16384;
        let tss = TSS.0.get();
        (*tss).ist[usize::from(FAULT_STACK) - 1] = stack_top;
        let base = tss as u64;
        let limit = core::mem::size_of::<Tss>() as u64 - 1;
        let gdt = &mut *GDT.0.get();
        gdt[3] = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89 << 40) // present, 64-bit TSS (available)
            | (((limit >> 16) & 0xf) << 48)
            | (((base >> 24) & 0xff) << 56);
        gdt[4] = base >> 32;
        let ptr = super::idt::TablePointer::new(gdt.as_ptr() as u64, 5 * 8);
        asm!("lgdt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags));
        asm!("ltr {0:x}", in(reg) 0x18u16, options(nostack, preserves_flags));
    }
}
