//! Xen's shared-ring protocol (`io/ring.h`).
//!
//! One page holds a 64-byte header (`req_prod`, `req_event`, `rsp_prod`,
//! `rsp_event`, padding) and then a power-of-two array of slots, each big
//! enough for a request or a response. The frontend produces requests and
//! consumes responses ([`FrontRing`]); the backend does the opposite
//! ([`BackRing`]). Indices are free-running `u32`s that wrap around; a slot
//! is `index & (size - 1)`, and all distances are wrapping differences.
//!
//! Notifications are held off with the event fields: after publishing, the
//! producer notifies only if the consumer asked to hear about an index in the
//! range just published ("push and check notify"); before sleeping, a
//! consumer sets its event field to one past what it has consumed and checks
//! again ("final check"). Both are exactly the `RING_PUSH_*_AND_CHECK_NOTIFY`
//! and `RING_FINAL_CHECK_FOR_*` macros.
//!
//! Indices a peer wrote are checked: a producer index further ahead than the
//! ring allows is a [`RingError`], never a panic or a read of a stale slot.

use core::marker::PhantomData;
use core::sync::atomic::Ordering;

use crate::page::{PAGE_SIZE, Page, mb, rmb, wmb};

/// A request or response type that lives in a ring slot.
pub trait RingEntry: Sized {
    /// Its size in bytes (`sizeof` of the C struct).
    const SIZE: usize;
    /// Reads one from `page` at `offset`.
    fn read(page: &Page, offset: usize) -> Self;
    /// Writes it to `page` at `offset`.
    fn write(&self, page: &Page, offset: usize);
}

/// Offsets in the shared-ring header.
pub mod field {
    /// `req_prod`.
    pub const REQ_PROD: usize = 0;
    /// `req_event`.
    pub const REQ_EVENT: usize = 4;
    /// `rsp_prod`.
    pub const RSP_PROD: usize = 8;
    /// `rsp_event`.
    pub const RSP_EVENT: usize = 12;
    /// `pvt` (four bytes of per-protocol flags).
    pub const PVT: usize = 16;
    /// The first slot.
    pub const RING: usize = 64;
}

/// Slots in a one-page ring of entries of `entry_size` bytes (`__RING_SIZE`):
/// as many as fit after the header, rounded down to a power of two.
pub const fn ring_size(entry_size: usize) -> u32 {
    let n = (PAGE_SIZE - field::RING) / entry_size;
    if n == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

const fn slot_size<Req: RingEntry, Rsp: RingEntry>() -> usize {
    if Req::SIZE > Rsp::SIZE {
        Req::SIZE
    } else {
        Rsp::SIZE
    }
}

/// A peer broke the ring protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The peer's producer index claims more entries than can be outstanding.
    #[error(
        "the peer's producer index {prod} is {ahead} entries past our consumer index {cons}; at most {limit} can be outstanding"
    )]
    Overrun {
        /// The producer index the peer published.
        prod: u32,
        /// Our consumer index.
        cons: u32,
        /// Their wrapping distance.
        ahead: u32,
        /// The most that could legitimately be outstanding.
        limit: u32,
    },
}

/// Returned when a request or response is pushed into a full ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ring has no free slot")]
pub struct Full;

fn slot_offset(index: u32, size: u32, slot: usize) -> usize {
    field::RING + (index & (size - 1)) as usize * slot
}

/// Initialises a shared ring page (`SHARED_RING_INIT`) with both producer
/// indices at `start` (0 normally; another value lets tests run the indices
/// across the `u32` wrap-around).
pub fn init_shared(page: &Page, start: u32) {
    page.write_u32(field::REQ_PROD, start);
    page.write_u32(field::RSP_PROD, start);
    page.write_u32(field::REQ_EVENT, start.wrapping_add(1));
    page.write_u32(field::RSP_EVENT, start.wrapping_add(1));
    page.fill(field::PVT, field::RING - field::PVT, 0);
    wmb();
}

/// The frontend's view of a ring: it produces `Req` and consumes `Rsp`.
pub struct FrontRing<Req, Rsp> {
    page: Page,
    size: u32,
    req_prod_pvt: u32,
    rsp_cons: u32,
    _entries: PhantomData<fn() -> (Req, Rsp)>,
}

impl<Req, Rsp> core::fmt::Debug for FrontRing<Req, Rsp> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrontRing")
            .field("size", &self.size)
            .field("req_prod_pvt", &self.req_prod_pvt)
            .field("rsp_cons", &self.rsp_cons)
            .finish()
    }
}

impl<Req: RingEntry, Rsp: RingEntry> FrontRing<Req, Rsp> {
    /// Slots in this ring type.
    pub const SIZE: u32 = ring_size(slot_size::<Req, Rsp>());

    /// Initialises `page` as an empty ring and takes the front end
    /// (`SHARED_RING_INIT` + `FRONT_RING_INIT`).
    pub fn init(page: Page) -> Self {
        Self::init_at(page, 0)
    }

    /// Like [`FrontRing::init`], with all indices starting at `start`.
    pub fn init_at(page: Page, start: u32) -> Self {
        init_shared(&page, start);
        FrontRing {
            page,
            size: Self::SIZE,
            req_prod_pvt: start,
            rsp_cons: start,
            _entries: PhantomData,
        }
    }

    /// The shared page (to grant to the backend).
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// Number of slots.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Our private request producer index.
    pub fn req_prod_pvt(&self) -> u32 {
        self.req_prod_pvt
    }

    /// Our response consumer index.
    pub fn rsp_cons(&self) -> u32 {
        self.rsp_cons
    }

    /// Requests outstanding (pushed, response not yet consumed).
    pub fn outstanding(&self) -> u32 {
        self.req_prod_pvt.wrapping_sub(self.rsp_cons)
    }

    /// Free request slots (`RING_FREE_REQUESTS`).
    pub fn free_requests(&self) -> u32 {
        self.size - self.outstanding()
    }

    /// Whether no request slot is free (`RING_FULL`).
    pub fn is_full(&self) -> bool {
        self.free_requests() == 0
    }

    /// Writes a request into the next slot; it is not visible to the backend
    /// until [`FrontRing::push_requests_and_check_notify`].
    pub fn push_request(&mut self, req: &Req) -> Result<(), Full> {
        if self.is_full() {
            return Err(Full);
        }
        req.write(
            &self.page,
            slot_offset(self.req_prod_pvt, self.size, slot_size::<Req, Rsp>()),
        );
        self.req_prod_pvt = self.req_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// Publishes pushed requests; returns whether the backend asked to be
    /// notified (`RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`).
    pub fn push_requests_and_check_notify(&mut self) -> bool {
        let old = self.page.read_u32(field::REQ_PROD);
        let new = self.req_prod_pvt;
        wmb();
        self.page
            .atomic_u32(field::REQ_PROD)
            .store(new, Ordering::Release);
        mb();
        let event = self.page.read_u32(field::REQ_EVENT);
        new.wrapping_sub(event) < new.wrapping_sub(old)
    }

    /// Responses published and not yet consumed
    /// (`RING_HAS_UNCONSUMED_RESPONSES`), checked against what we asked for.
    pub fn unconsumed_responses(&self) -> Result<u32, RingError> {
        let prod = self
            .page
            .atomic_u32(field::RSP_PROD)
            .load(Ordering::Acquire);
        let ahead = prod.wrapping_sub(self.rsp_cons);
        let limit = self.outstanding();
        if ahead > limit {
            return Err(RingError::Overrun {
                prod,
                cons: self.rsp_cons,
                ahead,
                limit,
            });
        }
        Ok(ahead)
    }

    /// Consumes the next response, if one is published.
    pub fn take_response(&mut self) -> Result<Option<Rsp>, RingError> {
        if self.unconsumed_responses()? == 0 {
            return Ok(None);
        }
        rmb();
        let rsp = Rsp::read(
            &self.page,
            slot_offset(self.rsp_cons, self.size, slot_size::<Req, Rsp>()),
        );
        self.rsp_cons = self.rsp_cons.wrapping_add(1);
        Ok(Some(rsp))
    }

    /// Asks for a notification on the next response and re-checks, closing
    /// the race with a backend that published meanwhile
    /// (`RING_FINAL_CHECK_FOR_RESPONSES`). `true`: there is work after all.
    pub fn final_check_for_responses(&mut self) -> Result<bool, RingError> {
        if self.unconsumed_responses()? > 0 {
            return Ok(true);
        }
        self.page
            .write_u32(field::RSP_EVENT, self.rsp_cons.wrapping_add(1));
        mb();
        Ok(self.unconsumed_responses()? > 0)
    }
}

/// The backend's view of a ring: it consumes `Req` and produces `Rsp`.
pub struct BackRing<Req, Rsp> {
    page: Page,
    size: u32,
    rsp_prod_pvt: u32,
    req_cons: u32,
    _entries: PhantomData<fn() -> (Req, Rsp)>,
}

impl<Req, Rsp> core::fmt::Debug for BackRing<Req, Rsp> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BackRing")
            .field("size", &self.size)
            .field("rsp_prod_pvt", &self.rsp_prod_pvt)
            .field("req_cons", &self.req_cons)
            .finish()
    }
}

impl<Req: RingEntry, Rsp: RingEntry> BackRing<Req, Rsp> {
    /// Slots in this ring type.
    pub const SIZE: u32 = ring_size(slot_size::<Req, Rsp>());

    /// Attaches to a ring the frontend initialised, starting from its
    /// current response producer index (`BACK_RING_ATTACH`).
    pub fn attach(page: Page) -> Self {
        let start = page.atomic_u32(field::RSP_PROD).load(Ordering::Acquire);
        BackRing {
            page,
            size: Self::SIZE,
            rsp_prod_pvt: start,
            req_cons: start,
            _entries: PhantomData,
        }
    }

    /// Number of slots.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Our request consumer index.
    pub fn req_cons(&self) -> u32 {
        self.req_cons
    }

    /// Requests published and not yet consumed
    /// (`RING_HAS_UNCONSUMED_REQUESTS`), checked against the ring size.
    pub fn unconsumed_requests(&self) -> Result<u32, RingError> {
        let prod = self
            .page
            .atomic_u32(field::REQ_PROD)
            .load(Ordering::Acquire);
        let ahead = prod.wrapping_sub(self.req_cons);
        let limit = self.size - self.req_cons.wrapping_sub(self.rsp_prod_pvt);
        if ahead > self.size {
            return Err(RingError::Overrun {
                prod,
                cons: self.req_cons,
                ahead,
                limit,
            });
        }
        Ok(ahead.min(limit))
    }

    /// Consumes the next request, if one is published and has room for its
    /// response.
    pub fn take_request(&mut self) -> Result<Option<Req>, RingError> {
        if self.unconsumed_requests()? == 0 {
            return Ok(None);
        }
        rmb();
        let req = Req::read(
            &self.page,
            slot_offset(self.req_cons, self.size, slot_size::<Req, Rsp>()),
        );
        self.req_cons = self.req_cons.wrapping_add(1);
        Ok(Some(req))
    }

    /// Writes a response for a consumed request; invisible to the frontend
    /// until [`BackRing::push_responses_and_check_notify`].
    pub fn push_response(&mut self, rsp: &Rsp) -> Result<(), Full> {
        if self.req_cons.wrapping_sub(self.rsp_prod_pvt) == 0 {
            return Err(Full);
        }
        rsp.write(
            &self.page,
            slot_offset(self.rsp_prod_pvt, self.size, slot_size::<Req, Rsp>()),
        );
        self.rsp_prod_pvt = self.rsp_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// Publishes pushed responses; returns whether the frontend asked to be
    /// notified (`RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`).
    pub fn push_responses_and_check_notify(&mut self) -> bool {
        let old = self.page.read_u32(field::RSP_PROD);
        let new = self.rsp_prod_pvt;
        wmb();
        self.page
            .atomic_u32(field::RSP_PROD)
            .store(new, Ordering::Release);
        mb();
        let event = self.page.read_u32(field::RSP_EVENT);
        new.wrapping_sub(event) < new.wrapping_sub(old)
    }

    /// Checks for at least `needed` unconsumed requests (a backend that
    /// needs several slots for one packet); if there are fewer, asks to be
    /// notified at the next request published and checks again, as Linux
    /// netback's `xenvif_rx_ring_slots_available` does. `true`: enough.
    pub fn wait_for_requests(&mut self, needed: u32) -> Result<bool, RingError> {
        loop {
            if self.unconsumed_requests()? >= needed {
                return Ok(true);
            }
            let prod = self
                .page
                .atomic_u32(field::REQ_PROD)
                .load(Ordering::Acquire);
            self.page.write_u32(field::REQ_EVENT, prod.wrapping_add(1));
            mb();
            if self
                .page
                .atomic_u32(field::REQ_PROD)
                .load(Ordering::Acquire)
                == prod
            {
                return Ok(self.unconsumed_requests()? >= needed);
            }
        }
    }

    /// Asks for a notification on the next request and re-checks
    /// (`RING_FINAL_CHECK_FOR_REQUESTS`). `true`: there is work after all.
    pub fn final_check_for_requests(&mut self) -> Result<bool, RingError> {
        if self.unconsumed_requests()? > 0 {
            return Ok(true);
        }
        self.page
            .write_u32(field::REQ_EVENT, self.req_cons.wrapping_add(1));
        mb();
        Ok(self.unconsumed_requests()? > 0)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use alloc::collections::VecDeque;
    use alloc::vec::Vec;
    use quickcheck::{QuickCheck, TestResult};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Req(u64);
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Rsp(u32);

    impl RingEntry for Req {
        const SIZE: usize = 112;
        fn read(page: &Page, offset: usize) -> Self {
            Req(page.read_u64(offset + 8))
        }
        fn write(&self, page: &Page, offset: usize) {
            page.write_u64(offset + 8, self.0)
        }
    }
    impl RingEntry for Rsp {
        const SIZE: usize = 4;
        fn read(page: &Page, offset: usize) -> Self {
            Rsp(page.read_u32(offset))
        }
        fn write(&self, page: &Page, offset: usize) {
            page.write_u32(offset, self.0)
        }
    }

    #[test]
    fn sizes_match_ring_h() {
        assert_eq!(ring_size(112), 32); // blkif
        assert_eq!(ring_size(12), 256); // netif tx
        assert_eq!(ring_size(8), 256); // netif rx
        assert_eq!(ring_size(4032), 1);
        assert_eq!(ring_size(4033), 0);
        assert_eq!(FrontRing::<Req, Rsp>::SIZE, 32);
    }

    #[test]
    fn fill_and_drain() {
        let page = Page::new();
        let mut front = FrontRing::<Req, Rsp>::init(page.clone());
        let mut back = BackRing::<Req, Rsp>::attach(page);
        for i in 0..32 {
            front.push_request(&Req(i)).unwrap();
        }
        assert_eq!(front.push_request(&Req(99)), Err(Full));
        // The backend initially asked for a notification at index 1.
        assert!(front.push_requests_and_check_notify());
        for i in 0..32 {
            assert_eq!(back.take_request().unwrap(), Some(Req(i)));
            back.push_response(&Rsp(i as u32)).unwrap();
        }
        assert_eq!(back.take_request().unwrap(), None);
        assert!(back.push_responses_and_check_notify());
        for i in 0..32 {
            assert_eq!(front.take_response().unwrap(), Some(Rsp(i)));
        }
        assert_eq!(front.take_response().unwrap(), None);
        assert_eq!(front.free_requests(), 32);
    }

    #[test]
    fn notification_hold_off() {
        let page = Page::new();
        let mut front = FrontRing::<Req, Rsp>::init(page.clone());
        let mut back = BackRing::<Req, Rsp>::attach(page);
        front.push_request(&Req(1)).unwrap();
        assert!(front.push_requests_and_check_notify());
        // The backend has not re-armed req_event: no further notification.
        front.push_request(&Req(2)).unwrap();
        assert!(!front.push_requests_and_check_notify());
        assert_eq!(back.take_request().unwrap(), Some(Req(1)));
        assert_eq!(back.take_request().unwrap(), Some(Req(2)));
        // Re-arm: nothing pending now.
        assert!(!back.final_check_for_requests().unwrap());
        front.push_request(&Req(3)).unwrap();
        assert!(front.push_requests_and_check_notify());
    }

    #[test]
    fn final_check_sees_racing_response() {
        let page = Page::new();
        let mut front = FrontRing::<Req, Rsp>::init(page.clone());
        let mut back = BackRing::<Req, Rsp>::attach(page);
        front.push_request(&Req(1)).unwrap();
        front.push_requests_and_check_notify();
        back.take_request().unwrap();
        back.push_response(&Rsp(1)).unwrap();
        back.push_responses_and_check_notify();
        assert!(front.final_check_for_responses().unwrap());
    }

    #[test]
    fn overrun_is_an_error() {
        let page = Page::new();
        let mut front = FrontRing::<Req, Rsp>::init(page.clone());
        page.write_u32(field::RSP_PROD, 5);
        assert!(matches!(
            front.take_response(),
            Err(RingError::Overrun { ahead: 5, .. })
        ));
        let mut back = BackRing::<Req, Rsp>::attach(page.clone());
        page.write_u32(field::REQ_PROD, 1000);
        assert!(back.take_request().is_err());
    }

    #[test]
    fn waiting_for_several_requests() {
        let page = Page::new();
        let mut front = FrontRing::<Req, Rsp>::init(page.clone());
        let mut back = BackRing::<Req, Rsp>::attach(page);
        front.push_request(&Req(1)).unwrap();
        front.push_requests_and_check_notify();
        assert!(!back.wait_for_requests(3).unwrap());
        // Each further request is notified while the backend still waits.
        front.push_request(&Req(2)).unwrap();
        assert!(front.push_requests_and_check_notify());
        assert!(!back.wait_for_requests(3).unwrap());
        front.push_request(&Req(3)).unwrap();
        assert!(front.push_requests_and_check_notify());
        assert!(back.wait_for_requests(3).unwrap());
    }

    #[test]
    fn response_without_request_refused() {
        let mut back = BackRing::<Req, Rsp>::attach(Page::new());
        assert_eq!(back.push_response(&Rsp(0)), Err(Full));
    }

    /// Runs a random interleaving of front and back operations starting at
    /// `start`, checking FIFO order, capacity and the notification rule.
    fn interleave(start: u32, ops: Vec<u8>) -> bool {
        let page = Page::new();
        let mut front = FrontRing::<Req, Rsp>::init_at(page.clone(), start);
        let mut back = BackRing::<Req, Rsp>::attach(page);
        let mut next_req = 0u64;
        let mut expect_req: VecDeque<u64> = VecDeque::new();
        let mut expect_rsp: VecDeque<u32> = VecDeque::new();
        let mut in_back: VecDeque<u64> = VecDeque::new();
        let mut back_sleeping = true;
        let mut front_sleeping = true;
        for op in ops {
            match op % 4 {
                0 => {
                    let n = u32::from(op / 4 % 40);
                    for _ in 0..n {
                        if front.push_request(&Req(next_req)).is_err() {
                            break;
                        }
                        expect_req.push_back(next_req);
                        next_req += 1;
                    }
                    let notify = front.push_requests_and_check_notify();
                    if back_sleeping && !expect_req.is_empty() && !notify {
                        return false; // a sleeping backend would never wake
                    }
                    if notify {
                        back_sleeping = false;
                    }
                }
                1 => {
                    while let Ok(Some(Req(v))) = back.take_request() {
                        if expect_req.pop_front() != Some(v) {
                            return false;
                        }
                        in_back.push_back(v);
                    }
                    if !back.final_check_for_requests().unwrap() {
                        back_sleeping = true;
                    }
                }
                2 => {
                    let n = usize::from(op / 4 % 40);
                    for _ in 0..n.min(in_back.len()) {
                        let v = in_back.pop_front().unwrap_or_default() as u32;
                        if back.push_response(&Rsp(v)).is_err() {
                            return false;
                        }
                        expect_rsp.push_back(v);
                    }
                    if back.push_responses_and_check_notify() {
                        front_sleeping = false;
                    } else if front_sleeping && !expect_rsp.is_empty() {
                        return false;
                    }
                }
                _ => {
                    while let Ok(Some(Rsp(v))) = front.take_response() {
                        if expect_rsp.pop_front() != Some(v) {
                            return false;
                        }
                    }
                    if !front.final_check_for_responses().unwrap() {
                        front_sleeping = true;
                    }
                }
            }
            if front.outstanding() > front.size() {
                return false;
            }
        }
        true
    }

    #[test]
    fn quickcheck_interleavings() {
        fn prop(start: u32, ops: Vec<u8>) -> TestResult {
            TestResult::from_bool(interleave(start, ops))
        }
        QuickCheck::new()
            .tests(300)
            .quickcheck(prop as fn(u32, Vec<u8>) -> TestResult);
    }

    #[test]
    fn quickcheck_interleavings_near_wrap() {
        fn prop(back_off: u8, ops: Vec<u8>) -> TestResult {
            TestResult::from_bool(interleave(u32::MAX - u32::from(back_off), ops))
        }
        QuickCheck::new()
            .tests(300)
            .quickcheck(prop as fn(u8, Vec<u8>) -> TestResult);
    }

    #[test]
    fn many_laps_across_wrap() {
        let mut ops = Vec::new();
        for _ in 0..200 {
            ops.extend_from_slice(&[4 * 31, 1, 2 + 4 * 39, 3]);
        }
        assert!(interleave(u32::MAX - 1000, ops));
    }
}
