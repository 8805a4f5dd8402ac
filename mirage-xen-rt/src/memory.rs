//! Choosing the heap: the largest free stretch of RAM in the memory map.
//!
//! The heap must avoid the image itself (code, data, the boot stack and
//! page tables in `.bss`), the first megabyte (BIOS and loader data), and
//! anything beyond the identity map the boot code built.

use core::ops::Range;

use crate::bootinfo::{Region, RegionKind};

/// Heap granularity: regions are trimmed to whole pages.
pub const PAGE: u64 = 4096;

/// Memory below this is never used for the heap (real-mode and BIOS areas).
pub const LOW_MEMORY_END: u64 = 0x10_0000;

fn align_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

fn align_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

/// The largest page-aligned range of RAM in `regions` that lies within
/// `[LOW_MEMORY_END, limit)` and overlaps none of `reserved`; `None` when
/// there is no whole free page.
pub fn heap_region(regions: &[Region], reserved: &[Range<u64>], limit: u64) -> Option<Range<u64>> {
    let mut best: Option<Range<u64>> = None;
    for r in regions.iter().filter(|r| r.kind == RegionKind::Ram) {
        let lo = r.addr.max(LOW_MEMORY_END);
        let hi = r.end().min(limit);
        if lo >= hi {
            continue;
        }
        // A free stretch starts at the region start or right after a
        // reserved range, and runs to the next reserved start.
        let starts = core::iter::once(lo).chain(reserved.iter().map(|x| x.end));
        for s in starts {
            if s < lo || s >= hi || reserved.iter().any(|x| x.start <= s && s < x.end) {
                continue;
            }
            let e = reserved
                .iter()
                .filter(|x| x.start > s)
                .map(|x| x.start)
                .fold(hi, u64::min);
            let (Some(s), e) = (align_up(s), align_down(e)) else {
                continue;
            };
            if s < e && best.as_ref().is_none_or(|b| e - s > b.end - b.start) {
                best = Some(s..e);
            }
        }
    }
    best
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    fn ram(addr: u64, size: u64) -> Region {
        Region {
            addr,
            size,
            kind: RegionKind::Ram,
        }
    }

    #[test]
    fn test_skips_image_and_low_memory() {
        let regions = [ram(0, 0x9fc00), ram(0x10_0000, 0x1ff0_0000)];
        let image = 0x10_0000..0x14_2345;
        assert_eq!(
            heap_region(&regions, &[image], 1 << 32),
            Some(0x14_3000..0x2000_0000)
        );
    }

    #[test]
    fn test_picks_largest_gap_and_respects_limit() {
        let regions = [ram(0x10_0000, 0x4000_0000)];
        let reserved = [0x20_0000..0x30_0000, 0x3000_0000..0x3000_1000];
        assert_eq!(
            heap_region(&regions, &reserved, 0x2000_0000),
            Some(0x30_0000..0x2000_0000)
        );
        assert_eq!(heap_region(&regions, &reserved, 0x10_0000), None);
    }

    #[test]
    fn test_ignores_non_ram() {
        let regions = [Region {
            addr: 0x10_0000,
            size: 0x100_0000,
            kind: RegionKind::Reserved,
        }];
        assert_eq!(heap_region(&regions, &[], u64::MAX), None);
    }

    quickcheck! {
        fn prop_result_is_free_aligned_ram(
            regions: Vec<(u64, u32)>,
            reserved: Vec<(u64, u32)>,
            limit: u64
        ) -> bool {
            let regions: Vec<Region> = regions.into_iter().map(|(a, s)| ram(a, u64::from(s))).collect();
            let reserved: Vec<Range<u64>> = reserved
                .into_iter()
                .map(|(a, s)| a..a.saturating_add(u64::from(s)))
                .collect();
            match heap_region(&regions, &reserved, limit) {
                None => true,
                Some(h) => {
                    h.start % PAGE == 0
                        && h.end % PAGE == 0
                        && h.start < h.end
                        && h.start >= LOW_MEMORY_END
                        && h.end <= limit
                        && regions.iter().any(|r| r.addr <= h.start && h.end <= r.end())
                        && reserved.iter().all(|x| x.end <= h.start || x.start >= h.end || x.start == x.end)
                }
            }
        }
    }
}
