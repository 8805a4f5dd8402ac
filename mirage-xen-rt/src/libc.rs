//! The few C library functions that Rust's `std` calls, for guests built
//! with `std` (feature `std`).
//!
//! The guest is compiled for the host's `x86_64-unknown-linux-gnu` target
//! and so links the prebuilt `std`, which reaches the operating system
//! through libc. The guest has no operating system: `xen/build-image.sh`
//! links empty archives in place of libc, and this module answers the calls
//! `std` can make. Memory comes from the guest heap; standard output and
//! error go to the debug console; random bytes (`getrandom`, used for
//! `HashMap` keys) come from [`CpuRandom`](crate::random::CpuRandom);
//! `clock_gettime` (`std::time::Instant` and `SystemTime`) reads Xen's
//! pvclock and wall clock once the runtime is up (zero before). Files, processes,
//! threads and environment variables do not exist in a guest: those calls
//! fail with `ENOSYS` (or `ENOENT`), which `std` reports as `io::Error`s, so
//! code that tries them gets an error, not a crash.
//!
//! Everything here runs on the guest's one vCPU, without preemption.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

use alloc::rc::Rc;
use mirage_core::random::Random;
use mirage_xen::evtchn::EventChannels;
use mirage_xen::hypercall::x86_64::XenHypervisor;

use crate::boot::{crash, global_heap};
use crate::random::CpuRandom;

const ENOENT: c_int = 2;
const EBADF: c_int = 9;
const EINVAL: c_int = 22;
const ENOMEM: c_int = 12;
const ENOSYS: c_int = 38;
const ERANGE: c_int = 34;

const SYS_FUTEX: c_long = 202;
const SYS_GETRANDOM: c_long = 318;

/// `errno`: one vCPU, one thread, one value.
static ERRNO: AtomicI32 = AtomicI32::new(0);

fn fail<T>(errno: c_int, value: T) -> T {
    ERRNO.store(errno, Ordering::Relaxed);
    value
}

/// `__errno_location`: where C code and `std` read `errno`.
#[unsafe(no_mangle)]
pub extern "C" fn __errno_location() -> *mut c_int {
    ERRNO.as_ptr()
}

// --- memory -----------------------------------------------------------

/// Every C allocation carries its size and alignment in a header just
/// before the pointer handed out, so `free` and `realloc` can rebuild the
/// `Layout` the global allocator needs.
const HEADER: usize = 16;

fn c_alloc(size: usize, align: usize, zeroed: bool) -> *mut c_void {
    let align = align.max(HEADER);
    let Some(total) = size.checked_add(align) else {
        return fail(ENOMEM, ptr::null_mut());
    };
    let Ok(layout) = Layout::from_size_align(total, align) else {
        return fail(ENOMEM, ptr::null_mut());
    };
    let heap = global_heap();
    // SAFETY: `layout` has a non-zero size (`align` >= 16).
    let base = unsafe {
        if zeroed {
            heap.alloc_zeroed(layout)
        } else {
            heap.alloc(layout)
        }
    };
    if base.is_null() {
        return fail(ENOMEM, ptr::null_mut());
    }
    // SAFETY: the block is `align` + `size` bytes; the user part starts
    // `align` bytes in, and the header (two words) sits just before it.
    unsafe {
        let user = base.add(align);
        let header = user.cast::<usize>().sub(2);
        header.write(size);
        header.add(1).write(align);
        user.cast()
    }
}

/// The size and the layout of the block behind a C pointer.
///
/// # Safety
/// `p` came from [`c_alloc`] and was not freed.
unsafe fn c_block(p: *mut c_void) -> (usize, *mut u8, Layout) {
    // SAFETY: per the contract, the header precedes `p`.
    unsafe {
        let header = p.cast::<usize>().sub(2);
        let size = header.read();
        let align = header.add(1).read();
        let layout = Layout::from_size_align_unchecked(size + align, align);
        (size, p.cast::<u8>().sub(align), layout)
    }
}

/// `malloc(3)` on the guest heap.
#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    c_alloc(size, HEADER, false)
}

/// `calloc(3)` on the guest heap.
#[unsafe(no_mangle)]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(n) => c_alloc(n, HEADER, true),
        None => fail(ENOMEM, ptr::null_mut()),
    }
}

/// `posix_memalign(3)` on the guest heap.
///
/// # Safety
/// `out` is valid for a pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || !align.is_multiple_of(core::mem::size_of::<usize>()) {
        return EINVAL;
    }
    let p = c_alloc(size, align, false);
    if p.is_null() {
        return ENOMEM;
    }
    // SAFETY: per the contract.
    unsafe { out.write(p) };
    0
}

/// `free(3)`.
///
/// # Safety
/// `p` is null or came from this module's allocation functions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: per the contract.
    unsafe {
        let (_, base, layout) = c_block(p);
        global_heap().dealloc(base, layout);
    }
}

/// `realloc(3)`: a new block, the old contents copied, the old block freed.
///
/// # Safety
/// As for [`free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return malloc(size);
    }
    // SAFETY: per the contract, `p` is a live block of ours.
    unsafe {
        let (old_size, _, layout) = c_block(p);
        let new = c_alloc(size, layout.align(), false);
        if new.is_null() {
            return new;
        }
        ptr::copy_nonoverlapping(p.cast::<u8>(), new.cast::<u8>(), old_size.min(size));
        free(p);
        new
    }
}

/// `strlen(3)`.
///
/// # Safety
/// `s` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: per the contract, reads stop at the terminating NUL.
    while unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    n
}

// --- clocks -------------------------------------------------------------

/// The event channels whose `shared_info` page holds Xen's clocks, once the
/// runtime is up (one reference, kept for the guest's lifetime).
static CLOCK_SOURCE: AtomicPtr<EventChannels<XenHypervisor>> = AtomicPtr::new(ptr::null_mut());

/// Makes `clock_gettime` read the clocks on `events`' `shared_info`.
pub(crate) fn install_clock(events: &Rc<EventChannels<XenHypervisor>>) {
    let raw = Rc::into_raw(events.clone()).cast_mut();
    let old = CLOCK_SOURCE.swap(raw, Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: `old` came from `Rc::into_raw` above and is released once.
        unsafe { drop(Rc::from_raw(old)) };
    }
}

/// `struct timespec`.
#[repr(C)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub tv_nsec: i64,
}

const CLOCK_REALTIME: c_int = 0;
const CLOCK_REALTIME_COARSE: c_int = 5;
const CLOCK_MONOTONIC: c_int = 1;
const CLOCK_PROCESS_CPUTIME_ID: c_int = 2;
const CLOCK_THREAD_CPUTIME_ID: c_int = 3;
const CLOCK_MONOTONIC_RAW: c_int = 4;
const CLOCK_MONOTONIC_COARSE: c_int = 6;
const CLOCK_BOOTTIME: c_int = 7;

/// `clock_gettime(2)`: the real-time clocks give Xen's wall clock, the
/// monotonic ones (and CPU time: the guest is the only process) the
/// system time since the domain booted. Before the runtime has mapped
/// `shared_info` both read zero.
///
/// # Safety
/// `ts` is valid for a `struct timespec` write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(id: c_int, ts: *mut Timespec) -> c_int {
    let source = CLOCK_SOURCE.load(Ordering::Acquire);
    // SAFETY: a non-null pointer is a reference kept by `install_clock`.
    let shared = (!source.is_null()).then(|| unsafe { (*source).shared_info() });
    let (secs, nanos) = match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => match shared {
            Some(page) => {
                let now = crate::clock::system_time(page, crate::arch::cpu::rdtsc());
                let wall = crate::clock::wall_time(page, now);
                (wall.secs, i64::from(wall.nanos))
            }
            None => (0, 0),
        },
        CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_PROCESS_CPUTIME_ID
        | CLOCK_THREAD_CPUTIME_ID => {
            let nanos = shared.map_or(0, |page| {
                crate::clock::system_time(page, crate::arch::cpu::rdtsc()).as_nanos()
            });
            (
                (nanos / 1_000_000_000) as i64,
                (nanos % 1_000_000_000) as i64,
            )
        }
        _ => return fail(EINVAL, -1),
    };
    // SAFETY: per the contract.
    unsafe {
        ts.write(Timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        })
    };
    0
}

// --- input and output ---------------------------------------------------

/// `write(2)`: standard output and error go to the debug console.
///
/// # Safety
/// `buf` is valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: usize) -> isize {
    if fd != 1 && fd != 2 {
        return fail(EBADF, -1);
    }
    // SAFETY: per the contract.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    for &b in bytes {
        crate::arch::cpu::outb(crate::debugcon::DEBUGCON_PORT, b);
    }
    len as isize
}

/// `read(2)`: there is no file to read.
#[unsafe(no_mangle)]
pub extern "C" fn read(_fd: c_int, _buf: *mut c_void, _len: usize) -> isize {
    fail(EBADF, -1)
}

/// `close(2)`: there is no file to close.
#[unsafe(no_mangle)]
pub extern "C" fn close(_fd: c_int) -> c_int {
    fail(EBADF, -1)
}

/// `open(2)`: a guest has no file system.
#[unsafe(no_mangle)]
pub extern "C" fn open64(_path: *const c_char, _flags: c_int, _mode: c_int) -> c_int {
    fail(ENOENT, -1)
}

/// `stat(2)`: a guest has no file system.
#[unsafe(no_mangle)]
pub extern "C" fn stat64(_path: *const c_char, _out: *mut c_void) -> c_int {
    fail(ENOENT, -1)
}

/// `fstat(2)`: there is no open file.
#[unsafe(no_mangle)]
pub extern "C" fn fstat64(_fd: c_int, _out: *mut c_void) -> c_int {
    fail(EBADF, -1)
}

/// `lseek(2)`: there is no open file.
#[unsafe(no_mangle)]
pub extern "C" fn lseek64(_fd: c_int, _offset: i64, _whence: c_int) -> i64 {
    fail(EBADF, -1)
}

/// `readlink(2)`: a guest has no file system.
#[unsafe(no_mangle)]
pub extern "C" fn readlink(_path: *const c_char, _buf: *mut c_char, _len: usize) -> isize {
    fail(ENOENT, -1)
}

/// `realpath(3)`: a guest has no file system.
#[unsafe(no_mangle)]
pub extern "C" fn realpath(_path: *const c_char, _out: *mut c_char) -> *mut c_char {
    fail(ENOENT, ptr::null_mut())
}

/// `getcwd(3)`: a guest has no working directory.
#[unsafe(no_mangle)]
pub extern "C" fn getcwd(_buf: *mut c_char, _len: usize) -> *mut c_char {
    fail(ENOENT, ptr::null_mut())
}

/// `mmap(2)`: no address space to map into; `std` falls back or reports
/// the error.
#[unsafe(no_mangle)]
pub extern "C" fn mmap64(
    _addr: *mut c_void,
    _len: usize,
    _prot: c_int,
    _flags: c_int,
    _fd: c_int,
    _offset: i64,
) -> *mut c_void {
    fail(ENOSYS, usize::MAX as *mut c_void)
}

/// `munmap(2)`: nothing was mapped.
#[unsafe(no_mangle)]
pub extern "C" fn munmap(_addr: *mut c_void, _len: usize) -> c_int {
    fail(EINVAL, -1)
}

/// `getenv(3)`: a guest has no environment.
#[unsafe(no_mangle)]
pub extern "C" fn getenv(_name: *const c_char) -> *mut c_char {
    ptr::null_mut()
}

/// `strerror_r` (XSI): the message `std` prints after an OS error code.
///
/// # Safety
/// `buf` is valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __xpg_strerror_r(errno: c_int, buf: *mut c_char, len: usize) -> c_int {
    let text: &[u8] = match errno {
        ENOENT => b"no such file or directory (no file system in a Xen guest)",
        EBADF => b"bad file descriptor (no files in a Xen guest)",
        EINVAL => b"invalid argument",
        ENOMEM => b"out of memory",
        ENOSYS => b"not available in a Xen guest",
        _ => b"error",
    };
    if len == 0 {
        return ERANGE;
    }
    let n = text.len().min(len - 1);
    // SAFETY: per the contract, `n + 1 <= len`.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        buf.add(n).write(0);
    }
    0
}

/// `abort(3)`: ends the domain as crashed (after a panic message from the
/// hook the runtime installs).
#[unsafe(no_mangle)]
pub extern "C" fn abort() -> ! {
    crate::println!("mirage-xen-rt: abort");
    crash()
}

/// `syscall(2)`: `getrandom` from the CPU, `futex` as a no-op (one thread
/// never waits on another), everything else `ENOSYS`.
///
/// C declares it variadic; on x86-64 the integer arguments of a variadic
/// call travel in the same registers as a fixed six-argument call.
///
/// # Safety
/// For `getrandom`, `a1` is a buffer valid for `a2` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn syscall(
    number: c_long,
    a1: c_long,
    a2: c_long,
    _a3: c_long,
    _a4: c_long,
    _a5: c_long,
    _a6: c_long,
) -> c_long {
    match number {
        SYS_GETRANDOM => {
            let len = a2 as usize;
            // SAFETY: per the contract.
            let buf = unsafe { core::slice::from_raw_parts_mut(a1 as *mut u8, len) };
            CpuRandom::new().fill_bytes(buf);
            len as c_long
        }
        SYS_FUTEX => 0,
        _ => fail(ENOSYS, -1),
    }
}

/// `dl_iterate_phdr(3)`: the guest has no loaded objects to report (used by
/// backtraces only).
#[unsafe(no_mangle)]
pub extern "C" fn dl_iterate_phdr(_callback: *const c_void, _data: *mut c_void) -> c_int {
    0
}

// --- unwinding ----------------------------------------------------------
//
// The guest is built with `panic = "abort"`, so nothing unwinds; the
// prebuilt `std` still refers to the unwinder for its landing pads and for
// backtraces. A backtrace is empty; a landing pad never runs.

/// `_Unwind_Backtrace`: reports the end of the stack at once, so a
/// backtrace is empty.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Backtrace(_trace: *const c_void, _arg: *mut c_void) -> c_int {
    const URC_END_OF_STACK: c_int = 5;
    URC_END_OF_STACK
}

/// Never reached with `panic = "abort"`.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume(_exception: *mut c_void) -> ! {
    crash()
}

macro_rules! unwind_context_getters {
    ($($name:ident),*) => {$(
        /// Never reached: no unwinding context exists (`panic = "abort"`).
        #[unsafe(no_mangle)]
        pub extern "C" fn $name(_context: *mut c_void) -> usize { 0 }
    )*};
}
unwind_context_getters!(
    _Unwind_GetIP,
    _Unwind_GetLanguageSpecificData,
    _Unwind_GetRegionStart,
    _Unwind_GetTextRelBase,
    _Unwind_GetDataRelBase
);

/// Never reached (`panic = "abort"`).
///
/// # Safety
/// `before` is valid for an `int` write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _Unwind_GetIPInfo(_context: *mut c_void, before: *mut c_int) -> usize {
    if !before.is_null() {
        // SAFETY: per the contract.
        unsafe { before.write(0) };
    }
    0
}

/// Never reached (`panic = "abort"`).
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_SetGR(_context: *mut c_void, _index: c_int, _value: usize) {}

/// Never reached (`panic = "abort"`).
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_SetIP(_context: *mut c_void, _value: usize) {}
