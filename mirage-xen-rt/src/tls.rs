//! Thread-local storage for the guest's one thread.
//!
//! Code compiled for x86-64 Linux (the prebuilt `std` among it) reaches its
//! `thread_local!` data through the `%fs` segment: the linker places each
//! variable at a fixed negative offset from the thread pointer, and
//! `%fs:0` holds the thread pointer itself (TLS "variant II"). Here the
//! image's TLS template (`.tdata`, then the zeroed `.tbss`, bounded by
//! symbols from `xen/pvh.ld`) is copied into a block on the heap that ends
//! at the thread pointer, and `IA32_FS_BASE` is pointed there. An image
//! without thread-locals skips all of it.

use alloc::alloc::{Layout, alloc_zeroed};

unsafe extern "C" {
    static __tdata_start: u8;
    static __tdata_end: u8;
    static __tls_end: u8;
    static __tls_align: u8;
}

const IA32_FS_BASE: u32 = 0xc000_0100;

/// Sets up the TLS block; called once at boot, after the heap.
pub(crate) fn init() {
    // Only the addresses of the linker-script symbols are taken.
    let start = (&raw const __tdata_start) as usize;
    let data_end = (&raw const __tdata_end) as usize;
    let end = (&raw const __tls_end) as usize;
    let align = ((&raw const __tls_align) as usize).max(16);
    let memsz = end.saturating_sub(start);
    if memsz == 0 {
        return;
    }
    // The linker's offsets count back from the thread pointer over the
    // segment size rounded up to its alignment.
    let block = memsz.next_multiple_of(align);
    let Ok(layout) = Layout::from_size_align(block + 16, align) else {
        panic!("TLS segment alignment {align} is unusable");
    };
    // SAFETY: a non-zero layout; the block lives for the guest's lifetime.
    let base = unsafe { alloc_zeroed(layout) };
    if base.is_null() {
        panic!("no memory for the {block}-byte TLS block");
    }
    // SAFETY: `.tdata` is `data_end - start` readable bytes of the image;
    // the block has room for them; the thread pointer word sits right
    // after the block and is ours.
    unsafe {
        core::ptr::copy_nonoverlapping(start as *const u8, base, data_end - start);
        let tp = base.add(block);
        tp.cast::<usize>().write(tp as usize);
        let tp = tp as u64;
        core::arch::asm!(
            "wrmsr",
            in("ecx") IA32_FS_BASE,
            in("eax") tp as u32,
            in("edx") (tp >> 32) as u32,
            options(nostack, preserves_flags),
        );
    }
    crate::println!("mirage-xen-rt: thread-local storage, {memsz} bytes");
}
