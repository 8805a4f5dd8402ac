//! [`Page`]: a 4 KiB frame of memory shared with another domain.
//!
//! Shared rings, grant tables and the `shared_info` page are memory that the
//! hypervisor or a backend in another domain reads and writes while we do.
//! Rust references cannot describe that, so a `Page` hands out no references
//! to its contents: every access is a volatile or atomic load or store at a
//! byte offset, and this module is the one place with `unsafe` memory access.
//! Offsets come from our own code; an offset outside the page is a bug in the
//! caller and panics (values a backend wrote are checked before they are used
//! as offsets).

use alloc::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use alloc::rc::Rc;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

/// Bytes in a page (x86 small pages, the unit of grants and rings).
pub const PAGE_SIZE: usize = 4096;

/// Where the frame's memory comes from.
struct Frame {
    ptr: NonNull<u8>,
    owned: bool,
}

impl Drop for Frame {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: `ptr` was returned by `alloc_zeroed` with `layout()` in
            // `Page::new`, and this is the last owner (the `Rc` is dropping).
            unsafe { dealloc(self.ptr.as_ptr(), layout()) }
        }
    }
}

fn layout() -> Layout {
    // A constant, valid layout: size and alignment are the same power of two.
    match Layout::from_size_align(PAGE_SIZE, PAGE_SIZE) {
        Ok(l) => l,
        Err(_) => unreachable!("4096/4096 is a valid layout"),
    }
}

/// A page-aligned 4 KiB frame, shared (cheaply cloned handles to the same
/// memory). Contents are read and written through offset accessors only.
#[derive(Clone)]
pub struct Page {
    frame: Rc<Frame>,
}

impl core::fmt::Debug for Page {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Page({:p})", self.frame.ptr)
    }
}

impl PartialEq for Page {
    fn eq(&self, other: &Self) -> bool {
        self.frame.ptr == other.frame.ptr
    }
}
impl Eq for Page {}

impl Default for Page {
    fn default() -> Self {
        Page::new()
    }
}

impl Page {
    /// A fresh zero-filled page from the heap.
    pub fn new() -> Page {
        let layout = layout();
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            handle_alloc_error(layout)
        };
        Page {
            frame: Rc::new(Frame { ptr, owned: true }),
        }
    }

    /// A page at a fixed address that we do not own, such as the XenStore
    /// or console page the toolstack placed at a guest frame number.
    ///
    /// # Safety
    /// `addr` must be page aligned, mapped readable and writable for the
    /// life of the program, and not used as a Rust reference elsewhere.
    pub unsafe fn from_address(addr: usize) -> Option<Page> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        let ptr = NonNull::new(addr as *mut u8)?;
        Some(Page {
            frame: Rc::new(Frame { ptr, owned: false }),
        })
    }

    /// The page's virtual address (its guest frame number on an
    /// identity-mapped guest is `address() >> 12`).
    pub fn address(&self) -> usize {
        self.frame.ptr.as_ptr() as usize
    }

    fn at(&self, offset: usize, len: usize, align: usize) -> *mut u8 {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= PAGE_SIZE)
                && offset.is_multiple_of(align),
            "page access at {offset}+{len} (align {align}) is out of bounds or misaligned"
        );
        // SAFETY: the offset is within the page allocation (checked above).
        unsafe { self.frame.ptr.as_ptr().add(offset) }
    }

    /// Loads a byte.
    pub fn read_u8(&self, offset: usize) -> u8 {
        // SAFETY: `at` checked bounds; the page is live while `self` is.
        unsafe { self.at(offset, 1, 1).read_volatile() }
    }

    /// Stores a byte.
    pub fn write_u8(&self, offset: usize, value: u8) {
        // SAFETY: as in `read_u8`.
        unsafe { self.at(offset, 1, 1).write_volatile(value) }
    }

    /// The 16-bit word at an even offset, as an atomic.
    pub fn atomic_u16(&self, offset: usize) -> &AtomicU16 {
        // SAFETY: in bounds and 2-aligned (checked); the memory is only ever
        // accessed atomically or volatilely, and lives as long as `self`.
        unsafe { AtomicU16::from_ptr(self.at(offset, 2, 2).cast()) }
    }

    /// The 32-bit word at a 4-aligned offset, as an atomic.
    pub fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: as in `atomic_u16`, 4-aligned.
        unsafe { AtomicU32::from_ptr(self.at(offset, 4, 4).cast()) }
    }

    /// The 64-bit word at an 8-aligned offset, as an atomic.
    pub fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: as in `atomic_u16`, 8-aligned.
        unsafe { AtomicU64::from_ptr(self.at(offset, 8, 8).cast()) }
    }

    /// Loads a little-endian `u16` (relaxed).
    pub fn read_u16(&self, offset: usize) -> u16 {
        self.atomic_u16(offset).load(Ordering::Relaxed)
    }

    /// Stores a `u16` (relaxed).
    pub fn write_u16(&self, offset: usize, value: u16) {
        self.atomic_u16(offset).store(value, Ordering::Relaxed)
    }

    /// Loads a `u32` (relaxed).
    pub fn read_u32(&self, offset: usize) -> u32 {
        self.atomic_u32(offset).load(Ordering::Relaxed)
    }

    /// Stores a `u32` (relaxed).
    pub fn write_u32(&self, offset: usize, value: u32) {
        self.atomic_u32(offset).store(value, Ordering::Relaxed)
    }

    /// Loads a `u64` (relaxed).
    pub fn read_u64(&self, offset: usize) -> u64 {
        self.atomic_u64(offset).load(Ordering::Relaxed)
    }

    /// Stores a `u64` (relaxed).
    pub fn write_u64(&self, offset: usize, value: u64) {
        self.atomic_u64(offset).store(value, Ordering::Relaxed)
    }

    /// Copies `dst.len()` bytes out of the page starting at `offset`.
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) {
        let src = self.at(offset, dst.len(), 1);
        for (i, b) in dst.iter_mut().enumerate() {
            // SAFETY: `at` checked the whole range.
            *b = unsafe { src.add(i).read_volatile() };
        }
    }

    /// Copies `src` into the page starting at `offset`.
    pub fn write_bytes(&self, offset: usize, src: &[u8]) {
        let dst = self.at(offset, src.len(), 1);
        for (i, b) in src.iter().enumerate() {
            // SAFETY: `at` checked the whole range.
            unsafe { dst.add(i).write_volatile(*b) };
        }
    }

    /// Sets `len` bytes from `offset` to `value`.
    pub fn fill(&self, offset: usize, len: usize, value: u8) {
        let dst = self.at(offset, len, 1);
        for i in 0..len {
            // SAFETY: `at` checked the whole range.
            unsafe { dst.add(i).write_volatile(value) };
        }
    }

    /// Copies `len` bytes from `src` at `src_offset` to this page at
    /// `dst_offset` (the pages may be the same; the ranges may overlap).
    pub fn copy_from(&self, dst_offset: usize, src: &Page, src_offset: usize, len: usize) {
        let d = self.at(dst_offset, len, 1);
        let s = src.at(src_offset, len, 1);
        // SAFETY: both ranges are in bounds of live pages; `copy` allows overlap.
        unsafe { core::ptr::copy(s, d, len) }
    }

    /// Calls `f` with `len` bytes of the page from `offset` as a mutable
    /// slice, for zero-copy hand-off of a received buffer.
    ///
    /// # Safety
    /// For the duration of `f`, nothing else may access these bytes: no
    /// other `Page` handle to the same frame is used for them and no other
    /// domain has access (its grant is revoked or the backend has finished
    /// with it and cannot write it until it is posted again).
    pub unsafe fn with_slice_mut<R>(
        &self,
        offset: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> R {
        let p = self.at(offset, len, 1);
        // SAFETY: in bounds (checked); exclusivity is the caller's contract.
        let slice = unsafe { core::slice::from_raw_parts_mut(p, len) };
        f(slice)
    }
}

/// Full barrier (`xen_mb`): orders all earlier loads and stores before later ones.
pub fn mb() {
    core::sync::atomic::fence(Ordering::SeqCst);
}

/// Read barrier (`xen_rmb`).
pub fn rmb() {
    core::sync::atomic::fence(Ordering::Acquire);
}

/// Write barrier (`xen_wmb`).
pub fn wmb() {
    core::sync::atomic::fence(Ordering::Release);
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn new_page_is_zeroed_and_aligned() {
        let p = Page::new();
        assert_eq!(p.address() % PAGE_SIZE, 0);
        let mut buf = [1u8; PAGE_SIZE];
        p.read_bytes(0, &mut buf);
        assert!(buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn clones_share_memory() {
        let p = Page::new();
        let q = p.clone();
        p.write_u32(8, 0xdead_beef);
        assert_eq!(q.read_u32(8), 0xdead_beef);
        q.write_bytes(100, b"hello");
        let mut b = [0u8; 5];
        p.read_bytes(100, &mut b);
        assert_eq!(&b, b"hello");
        assert_eq!(p, q);
        assert_ne!(p, Page::new());
    }

    #[test]
    fn little_endian_words() {
        let p = Page::new();
        p.write_u64(16, 0x0102_0304_0506_0708);
        assert_eq!(p.read_u8(16), 8);
        assert_eq!(p.read_u16(22), 0x0102);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn out_of_bounds_panics() {
        Page::new().read_u32(PAGE_SIZE - 2);
    }

    #[test]
    fn copy_between_pages() {
        let a = Page::new();
        let b = Page::new();
        a.write_bytes(10, b"abcdef");
        b.copy_from(0, &a, 10, 6);
        let mut out = [0u8; 6];
        b.read_bytes(0, &mut out);
        assert_eq!(&out, b"abcdef");
    }
}
