//! From the PVH entry to the application: parse the start info, set up the
//! heap, look for Xen, and call the application's `main` (declared with
//! [`entry!`](crate::entry)). Also the exits: power off, crash, and the
//! panic handler.

use core::ops::Range;

use linked_list_allocator::LockedHeap;
use mirage_xen::abi::xen::{SHUTDOWN_CRASH, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};

use crate::arch::{self, cpu::XenCpuid};
use crate::bootinfo::{BootInfo, BootInfoError, PhysMem};
use crate::hypercall::Hypercalls;
use crate::memory::heap_region;
use crate::println;

/// Everything below 4 GiB is identity-mapped by the boot code.
pub const IDENTITY_MAP_END: u64 = 1 << 32;

/// QEMU `isa-debug-exit` port: writing `v` ends QEMU with status `2v + 1`.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Written to the debug-exit port after a clean run without Xen (QEMU status 33).
pub const EXIT_NO_XEN: u32 = 0x10;
/// Written to the debug-exit port after a panic or failure (QEMU status 35).
pub const EXIT_FAILURE: u32 = 0x11;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// The hypercall page address once installed (0 before), for the exits.
static HYPERCALL_PAGE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The guest heap, for the C allocation functions of [`crate::libc`].
#[cfg(feature = "std")]
pub(crate) fn global_heap() -> &'static LockedHeap {
    &HEAP
}

pub(crate) fn set_hypercall_page(addr: usize) {
    HYPERCALL_PAGE.store(addr, core::sync::atomic::Ordering::Release);
}

fn hypercalls() -> Option<Hypercalls> {
    match HYPERCALL_PAGE.load(core::sync::atomic::Ordering::Acquire) {
        0 => None,
        // SAFETY: only ever set to an installed hypercall page.
        page => Some(unsafe { Hypercalls::new(page) }),
    }
}

/// What the guest learned at boot, handed to the application's `main`.
#[derive(Debug)]
pub struct Boot {
    /// The parsed `hvm_start_info`.
    pub info: BootInfo,
    /// Xen's CPUID leaves, `None` when not running under Xen.
    pub xen: Option<XenCpuid>,
    /// The physical range given to the heap.
    pub heap: Range<u64>,
    /// The physical range of the image.
    pub image: Range<u64>,
}

/// Identity-mapped physical memory below [`IDENTITY_MAP_END`].
struct Identity;

impl PhysMem for Identity {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), BootInfoError> {
        let err = BootInfoError::Unreadable {
            addr,
            len: buf.len(),
        };
        let end = addr.checked_add(buf.len() as u64).ok_or(err)?;
        if addr == 0 || end > IDENTITY_MAP_END {
            return Err(err);
        }
        // SAFETY: the range is inside the boot identity map and is RAM or
        // ROM the loader described; it is only read.
        unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
}

unsafe extern "Rust" {
    /// The application's entry, defined by [`entry!`](crate::entry).
    fn __mirage_xen_rt_main(boot: Boot) -> !;
}

/// Called by `entry.S` in long mode on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn mirage_xen_rt_start(start_info: u32) -> ! {
    println!("mirage-xen-rt: PVH entry, hvm_start_info at {start_info:#x}");
    arch::install_exception_handlers();
    arch::install_stack_guard();
    let info = match BootInfo::parse(&Identity, u64::from(start_info)) {
        Ok(info) => info,
        Err(e) => panic!("cannot use hvm_start_info: {e}"),
    };
    println!(
        "mirage-xen-rt: start info version {}, command line {:?}",
        info.version(),
        info.cmdline()
    );
    for r in info.regions() {
        println!("mirage-xen-rt: memory {r}");
    }
    let image = arch::image_range();
    let Some(heap) = heap_region(
        info.regions(),
        core::slice::from_ref(&image),
        IDENTITY_MAP_END,
    ) else {
        panic!("no free RAM for the heap in the memory map")
    };
    // SAFETY: `heap` is RAM from the memory map, identity-mapped, outside
    // the image, and handed to the allocator exactly once.
    unsafe {
        HEAP.lock()
            .init(heap.start as *mut u8, (heap.end - heap.start) as usize)
    };
    println!(
        "mirage-xen-rt: image {:#x}-{:#x} ({} KiB), heap {:#x}-{:#x} ({} MiB)",
        image.start,
        image.end,
        (image.end - image.start) / 1024,
        heap.start,
        heap.end,
        (heap.end - heap.start) >> 20
    );
    heap_check();
    crate::tls::init();
    #[cfg(feature = "std")]
    install_panic_hook();
    self_test(info.cmdline());
    let xen = XenCpuid::detect();
    // SAFETY: declared by the application through `entry!`, which checks
    // the signature.
    unsafe {
        __mirage_xen_rt_main(Boot {
            info,
            xen,
            heap,
            image,
        })
    }
}

/// Allocates, fills, checks and frees 64 KiB, so that a broken heap shows
/// up at boot rather than in the application.
fn heap_check() {
    let v: alloc::vec::Vec<u64> = (0..8192u64).collect();
    let sum: u64 = v.iter().sum();
    if sum != 8191 * 8192 / 2 {
        panic!("heap check failed: sum {sum}");
    }
    drop(v);
    println!("mirage-xen-rt: heap check ok (64 KiB allocated and freed)");
}

/// Boot parameter `mirage.selftest=panic`, `=fault` or `=overflow` makes
/// the runtime panic, execute `ud2` or overflow its stack right after boot, to check that failures are
/// reported and end the guest (used by `xen/smoke.sh`).
fn self_test(cmdline: &str) {
    for word in cmdline.split_whitespace() {
        match word.strip_prefix("mirage.selftest=") {
            Some("panic") => panic!("self test: panic requested on the command line"),
            Some("overflow") => {
                println!("mirage-xen-rt: self test: recursing until the stack overflows");
                overflow(0);
            }
            Some("fault") => {
                println!("mirage-xen-rt: self test: executing ud2");
                // SAFETY: raises #UD, which the installed handler reports
                // before ending the guest; it never returns here.
                unsafe { core::arch::asm!("ud2", options(nomem, nostack)) }
            }
            _ => {}
        }
    }
}

/// Recurses without end, each frame holding a page of stack, so that the
/// guard page is reached (`mirage.selftest=overflow`).
#[inline(never)]
fn overflow(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 512]);
    // Always true at run time, but the compiler cannot know it.
    let deeper = if core::hint::black_box(depth) < u64::MAX {
        overflow(depth + 1)
    } else {
        0
    };
    deeper.wrapping_add(frame[(depth % 512) as usize])
}

/// Ends the guest successfully: `SCHEDOP_shutdown(poweroff)` under Xen, the
/// QEMU debug-exit port otherwise.
pub fn poweroff() -> ! {
    exit(SHUTDOWN_POWEROFF, EXIT_NO_XEN)
}

/// Asks Xen to build the domain again (`SCHEDOP_shutdown(reboot)`); the
/// QEMU debug-exit port (clean status) without Xen.
pub fn reboot() -> ! {
    exit(SHUTDOWN_REBOOT, EXIT_NO_XEN)
}

/// Ends the guest as failed: `SCHEDOP_shutdown(crash)` under Xen, status 35
/// through the QEMU debug-exit port otherwise.
pub fn crash() -> ! {
    exit(SHUTDOWN_CRASH, EXIT_FAILURE)
}

fn exit(reason: u32, qemu_code: u32) -> ! {
    if let Some(hc) = hypercalls() {
        let r = hc.shutdown(reason);
        println!("mirage-xen-rt: SCHEDOP_shutdown returned {r:?}");
    } else {
        arch::cpu::outl(DEBUG_EXIT_PORT, qemu_code);
    }
    arch::stop()
}

/// With `std`, `std` owns the panic handler: the hook prints the message on
/// the debug console, then `std` aborts, and [`crate::libc`]'s `abort`
/// crashes the domain.
#[cfg(feature = "std")]
fn install_panic_hook() {
    std::panic::set_hook(std::boxed::Box::new(|info| {
        println!("mirage-xen-rt: {info}");
    }));
}

#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("mirage-xen-rt: {info}");
    crash()
}

/// Unwinding is never used (`panic = "abort"`), but the prebuilt `core`
/// refers to the personality routine from its unwind tables. (With `std`,
/// `std` defines it.)
#[cfg(not(feature = "std"))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {
    crash()
}

/// As for [`rust_eh_personality`]: referenced by prebuilt landing pads that
/// never run. (With `std`, [`crate::libc`] defines it.)
#[cfg(not(feature = "std"))]
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    crash()
}

/// Declares the application's entry: `fn(Boot) -> !`, called once the heap
/// is ready.
///
/// ```ignore
/// mirage_xen_rt::entry!(main);
/// fn main(boot: mirage_xen_rt::Boot) -> ! { mirage_xen_rt::run(boot, |devices| app(devices)) }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __mirage_xen_rt_main(boot: $crate::Boot) -> ! {
            let main: fn($crate::Boot) -> ! = $main;
            main(boot)
        }
    };
}
