//! Xen shared rings facing a hostile peer. The input is a script of
//! operations: ours (push, publish, take, final check) interleaved with the
//! peer's arbitrary writes to the shared page (producer and event indices,
//! slot contents). The first byte chooses whether we are the frontend
//! (`FrontRing`) or the backend (`BackRing`). Whatever the peer writes, our
//! side never panics, never takes more responses than it has requests
//! outstanding (frontend), never holds more unanswered requests than the
//! ring has slots (backend), and an overrun is reported as an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_xen::Page;
use mirage_xen::page::PAGE_SIZE;
use mirage_xen::ring::{BackRing, FrontRing, RingEntry, field, init_shared};

/// An 8-byte slot entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot(u64);

impl RingEntry for Slot {
    const SIZE: usize = 8;
    fn read(page: &Page, offset: usize) -> Self {
        Slot(page.read_u64(offset))
    }
    fn write(&self, page: &Page, offset: usize) {
        page.write_u64(offset, self.0);
    }
}

/// The peer writes `value` somewhere in the page: an index field or a slot.
fn peer_write(page: &Page, which: u8, value: u32) {
    match which % 4 {
        0 => page.write_u32(field::REQ_PROD, value),
        1 => page.write_u32(field::RSP_PROD, value),
        2 => page.write_u32(if which & 0x80 == 0 { field::REQ_EVENT } else { field::RSP_EVENT }, value),
        _ => {
            let slots = (PAGE_SIZE - field::RING) / 8;
            page.write_u64(field::RING + (value as usize % slots) * 8, u64::from(value) * 0x9e37_79b9);
        }
    }
}

fn front(start: u32, ops: &[u8]) {
    let page = Page::new();
    init_shared(&page, start);
    let mut ring: FrontRing<Slot, Slot> = FrontRing::init_at(page.clone(), start);
    let (mut published, mut taken) = (0u64, 0u64);
    for op in ops.chunks_exact(5) {
        let value = u32::from_le_bytes([op[1], op[2], op[3], op[4]]);
        match op[0] % 8 {
            0 => peer_write(&page, op[0] >> 3, value),
            // A well-behaved peer answering some of what is outstanding.
            1 => page.write_u32(field::RSP_PROD, ring.rsp_cons().wrapping_add(value % 4)),
            2 => {
                let _ = ring.push_request(&Slot(u64::from(value)));
            }
            3 => {
                let _ = ring.push_requests_and_check_notify();
                published = u64::from(ring.req_prod_pvt().wrapping_sub(start));
            }
            4 | 5 => {
                if let Ok(Some(_)) = ring.take_response() {
                    taken += 1;
                }
            }
            6 => {
                let _ = ring.final_check_for_responses();
            }
            _ => {
                if let Ok(n) = ring.unconsumed_responses() {
                    assert!(n <= ring.outstanding(), "{n} responses for {} requests", ring.outstanding());
                }
            }
        }
        let pushed = u64::from(ring.req_prod_pvt().wrapping_sub(start));
        assert!(taken <= pushed, "took {taken} responses for {pushed} requests ({published} published)");
        assert!(ring.outstanding() <= ring.size(), "more outstanding than slots");
    }
}

fn back(start: u32, ops: &[u8]) {
    let page = Page::new();
    init_shared(&page, start);
    let mut ring: BackRing<Slot, Slot> = BackRing::attach(page.clone());
    let (mut taken, mut answered) = (0u64, 0u64);
    for op in ops.chunks_exact(5) {
        let value = u32::from_le_bytes([op[1], op[2], op[3], op[4]]);
        match op[0] % 8 {
            0 => peer_write(&page, op[0] >> 3, value),
            // A well-behaved peer publishing a few requests.
            1 => page.write_u32(field::REQ_PROD, ring.req_cons().wrapping_add(value % 4)),
            2 | 3 => {
                if let Ok(Some(_)) = ring.take_request() {
                    taken += 1;
                }
            }
            4 => {
                if answered < taken && ring.push_response(&Slot(u64::from(value))).is_ok() {
                    answered += 1;
                }
            }
            5 => {
                let _ = ring.push_responses_and_check_notify();
            }
            6 => {
                let _ = ring.final_check_for_requests();
            }
            _ => {
                let _ = ring.unconsumed_requests();
            }
        }
        assert!(
            taken - answered <= u64::from(ring.size()),
            "{} requests held unanswered in a ring of {}",
            taken - answered,
            ring.size()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((start, ops)) = rest.split_first_chunk::<4>() else {
        return;
    };
    // Start near the u32 wrap-around sometimes, as long-lived rings get there.
    let start = u32::from_le_bytes(*start);
    if mode & 1 == 0 {
        front(start, ops);
    } else {
        back(start, ops);
    }
});
