//! Xen time: the monotonic clock from the per-vCPU `vcpu_time_info`
//! (pvclock) and the wall clock from `shared_info`.
//!
//! Xen publishes, per vCPU, a TSC timestamp, the system time (nanoseconds
//! since the domain's boot) at that TSC, and a scale; the guest extrapolates
//! with `rdtsc`. Both records are seqlocks: an odd or changed version means
//! Xen was writing, so the reader retries. The wall clock is the boot time
//! `wc_sec`/`wc_nsec` plus the current system time.

use core::mem::offset_of;

use mirage_core::time::{Instant, PosixTime};
use mirage_xen::abi::xen::{SharedInfo, VcpuInfo, VcpuTimeInfo};
use mirage_xen::page::{Page, rmb};

const TIME: usize = offset_of!(SharedInfo, vcpu_info) + offset_of!(VcpuInfo, time);

/// Reads vCPU 0's `vcpu_time_info` from `shared_info` under its seqlock.
pub fn time_info(shared: &Page) -> VcpuTimeInfo {
    loop {
        let version = shared.read_u32(TIME + offset_of!(VcpuTimeInfo, version));
        rmb();
        let info = VcpuTimeInfo {
            version,
            pad0: 0,
            tsc_timestamp: shared.read_u64(TIME + offset_of!(VcpuTimeInfo, tsc_timestamp)),
            system_time: shared.read_u64(TIME + offset_of!(VcpuTimeInfo, system_time)),
            tsc_to_system_mul: shared.read_u32(TIME + offset_of!(VcpuTimeInfo, tsc_to_system_mul)),
            tsc_shift: shared.read_u8(TIME + offset_of!(VcpuTimeInfo, tsc_shift)) as i8,
            flags: shared.read_u8(TIME + offset_of!(VcpuTimeInfo, flags)),
            pad1: [0; 2],
        };
        rmb();
        let again = shared.read_u32(TIME + offset_of!(VcpuTimeInfo, version));
        if version & 1 == 0 && version == again {
            return info;
        }
        core::hint::spin_loop();
    }
}

/// Nanoseconds since the domain booted, at TSC value `tsc`.
pub fn system_time(shared: &Page, tsc: u64) -> Instant {
    Instant::from_nanos(time_info(shared).system_time_at(tsc))
}

/// The wall-clock time at which system time was zero (`wc_sec`, `wc_nsec`,
/// `wc_sec_hi`), read under `wc_version`.
pub fn boot_wall_time(shared: &Page) -> PosixTime {
    loop {
        let version = shared.read_u32(offset_of!(SharedInfo, wc_version));
        rmb();
        let lo = shared.read_u32(offset_of!(SharedInfo, wc_sec));
        let hi = shared.read_u32(offset_of!(SharedInfo, wc_sec_hi));
        let nanos = shared.read_u32(offset_of!(SharedInfo, wc_nsec));
        rmb();
        let again = shared.read_u32(offset_of!(SharedInfo, wc_version));
        if version & 1 == 0 && version == again {
            let secs = ((u64::from(hi) << 32) | u64::from(lo)) as i64;
            return PosixTime {
                secs,
                nanos: nanos.min(999_999_999),
            };
        }
        core::hint::spin_loop();
    }
}

/// The wall-clock time now: boot wall time plus `now` since boot.
pub fn wall_time(shared: &Page, now: Instant) -> PosixTime {
    boot_wall_time(shared).saturating_add(core::time::Duration::from_nanos(now.as_nanos()))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_pvclock_from_shared_info() {
        let page = Page::new();
        page.write_u32(TIME, 2);
        page.write_u64(TIME + 8, 1_000);
        page.write_u64(TIME + 16, 5_000_000);
        page.write_u32(TIME + 24, 1 << 31);
        page.write_u8(TIME + 28, 1);
        assert_eq!(system_time(&page, 1_000).as_nanos(), 5_000_000);
        assert_eq!(system_time(&page, 3_000).as_nanos(), 5_002_000);
    }

    #[test]
    fn test_wall_clock_adds_system_time() {
        let page = Page::new();
        page.write_u32(offset_of!(SharedInfo, wc_version), 4);
        page.write_u32(offset_of!(SharedInfo, wc_sec), 1_700_000_000);
        page.write_u32(offset_of!(SharedInfo, wc_nsec), 900_000_000);
        let t = wall_time(&page, Instant::from_millis(1_500));
        assert_eq!(t.secs, 1_700_000_002);
        assert_eq!(t.nanos, 400_000_000);
    }
}
