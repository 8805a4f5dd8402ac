//! [`GrantTable`]: granting our pages to other domains (grant table v1).
//!
//! The table is a few frames of [`GrantEntryV1`]
//! that Xen reads. To grant, we fill an entry's `domid` and `frame`, then,
//! after a write barrier, set `flags` to `GTF_permit_access` (plus
//! `GTF_readonly`). To revoke, we atomically swap the flags to zero, but
//! only while Xen's `GTF_reading`/`GTF_writing` bits are clear: a backend
//! that still has the page mapped keeps it, and [`GrantTable::end_access`]
//! says [`GrantError::InUse`] so the caller tries again later.

use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::Ordering;

use crate::abi::grant_table::{
    ENTRIES_PER_FRAME, GNTTAB_NR_RESERVED_ENTRIES, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY,
    GTF_TYPE_MASK, GTF_WRITING, GrantEntryV1,
};
use crate::abi::{DomId, Gfn, GrantRef};
use crate::page::{Page, wmb};

/// Why a grant operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// Every grant reference is in use.
    #[error("no free grant reference (all {0} are in use)")]
    Exhausted(u32),
    /// The frame number does not fit a v1 entry's 32 bits.
    #[error("frame {0:#x} does not fit a grant-table v1 entry")]
    FrameTooLarge(Gfn),
    /// The reference is outside the table or reserved for the toolstack.
    #[error("grant reference {0} is not one of ours")]
    BadRef(GrantRef),
    /// The reference grants nothing now.
    #[error("grant reference {0} is not granted")]
    NotGranted(GrantRef),
    /// The grantee still has the page mapped or is copying it.
    #[error("grant reference {0} is still in use by the other domain")]
    InUse(GrantRef),
}

/// Our grant table: the shared frames and a free list of references.
#[derive(Debug)]
pub struct GrantTable {
    frames: Vec<Page>,
    free: RefCell<Vec<GrantRef>>,
}

impl GrantTable {
    /// Takes the table frames mapped by
    /// [`Hypervisor::map_grant_table`](crate::hypercall::Hypervisor::map_grant_table).
    /// The first eight references stay reserved for the toolstack.
    pub fn new(frames: Vec<Page>) -> Self {
        let total = frames.len() as u32 * ENTRIES_PER_FRAME;
        let free = (GNTTAB_NR_RESERVED_ENTRIES..total).rev().collect();
        GrantTable {
            frames,
            free: RefCell::new(free),
        }
    }

    /// References this table can hand out (excluding reserved ones).
    pub fn capacity(&self) -> u32 {
        (self.frames.len() as u32 * ENTRIES_PER_FRAME).saturating_sub(GNTTAB_NR_RESERVED_ENTRIES)
    }

    /// References free now.
    pub fn free_count(&self) -> usize {
        self.free.borrow().len()
    }

    fn locate(&self, gref: GrantRef) -> Option<(&Page, usize)> {
        let frame = self.frames.get((gref / ENTRIES_PER_FRAME) as usize)?;
        Some((frame, (gref % ENTRIES_PER_FRAME) as usize * 8))
    }

    /// Lets `domid` map or copy `frame` (read-only if `readonly`).
    pub fn grant_access(
        &self,
        domid: DomId,
        frame: Gfn,
        readonly: bool,
    ) -> Result<GrantRef, GrantError> {
        let frame32 = u32::try_from(frame).map_err(|_| GrantError::FrameTooLarge(frame))?;
        let gref = self
            .free
            .borrow_mut()
            .pop()
            .ok_or(GrantError::Exhausted(self.capacity()))?;
        let Some((page, off)) = self.locate(gref) else {
            return Err(GrantError::BadRef(gref));
        };
        page.write_u16(off + 2, domid);
        page.write_u32(off + 4, frame32);
        wmb();
        let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
        page.atomic_u16(off).store(flags, Ordering::Release);
        Ok(gref)
    }

    /// Revokes `gref` and returns it to the free list, unless the grantee
    /// still uses it ([`GrantError::InUse`]; the grant stays valid).
    pub fn end_access(&self, gref: GrantRef) -> Result<(), GrantError> {
        if gref < GNTTAB_NR_RESERVED_ENTRIES {
            return Err(GrantError::BadRef(gref));
        }
        let (page, off) = self.locate(gref).ok_or(GrantError::BadRef(gref))?;
        let flags = page.atomic_u16(off);
        let mut current = flags.load(Ordering::Acquire);
        loop {
            if current & GTF_TYPE_MASK != GTF_PERMIT_ACCESS {
                return Err(GrantError::NotGranted(gref));
            }
            if current & (GTF_READING | GTF_WRITING) != 0 {
                return Err(GrantError::InUse(gref));
            }
            match flags.compare_exchange(current, 0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        self.free.borrow_mut().push(gref);
        Ok(())
    }

    /// The entry as Xen sees it now.
    pub fn entry(&self, gref: GrantRef) -> Option<GrantEntryV1> {
        let (page, off) = self.locate(gref)?;
        Some(GrantEntryV1 {
            flags: page.read_u16(off),
            domid: page.read_u16(off + 2),
            frame: page.read_u32(off + 4),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn table() -> (GrantTable, Page) {
        let frame = Page::new();
        (GrantTable::new(alloc::vec![frame.clone()]), frame)
    }

    #[test]
    fn grant_writes_entry_with_flags() {
        let (t, _) = table();
        let r = t.grant_access(3, 0x1234, true).unwrap();
        assert!(r >= GNTTAB_NR_RESERVED_ENTRIES);
        assert_eq!(
            t.entry(r),
            Some(GrantEntryV1 {
                flags: GTF_PERMIT_ACCESS | GTF_READONLY,
                domid: 3,
                frame: 0x1234
            })
        );
        let w = t.grant_access(3, 0x99, false).unwrap();
        assert_eq!(t.entry(w).map(|e| e.flags), Some(GTF_PERMIT_ACCESS));
        assert_ne!(r, w);
    }

    #[test]
    fn end_access_refuses_while_mapped() {
        let (t, frame) = table();
        let r = t.grant_access(0, 7, false).unwrap();
        let off = (r % ENTRIES_PER_FRAME) as usize * 8;
        // What Xen does while the backend maps the page.
        frame
            .atomic_u16(off)
            .fetch_or(GTF_WRITING, Ordering::SeqCst);
        assert_eq!(t.end_access(r), Err(GrantError::InUse(r)));
        assert_eq!(
            t.entry(r).map(|e| e.flags & GTF_PERMIT_ACCESS),
            Some(GTF_PERMIT_ACCESS)
        );
        frame
            .atomic_u16(off)
            .fetch_and(!GTF_WRITING, Ordering::SeqCst);
        let before = t.free_count();
        assert_eq!(t.end_access(r), Ok(()));
        assert_eq!(t.free_count(), before + 1);
        assert_eq!(t.entry(r).map(|e| e.flags), Some(0));
        assert_eq!(t.end_access(r), Err(GrantError::NotGranted(r)));
    }

    #[test]
    fn exhaustion_and_reuse() {
        let (t, _) = table();
        let n = t.capacity();
        assert_eq!(n, 512 - 8);
        let refs: Vec<_> = (0..n)
            .map(|i| t.grant_access(1, u64::from(i), true).unwrap())
            .collect();
        assert_eq!(t.grant_access(1, 0, true), Err(GrantError::Exhausted(n)));
        t.end_access(refs[5]).unwrap();
        assert_eq!(t.grant_access(1, 0, true), Ok(refs[5]));
    }

    #[test]
    fn bad_refs_and_frames() {
        let (t, _) = table();
        assert_eq!(t.end_access(1), Err(GrantError::BadRef(1)));
        assert_eq!(t.end_access(100_000), Err(GrantError::BadRef(100_000)));
        assert_eq!(
            t.grant_access(1, 1 << 40, false),
            Err(GrantError::FrameTooLarge(1 << 40))
        );
    }
}
