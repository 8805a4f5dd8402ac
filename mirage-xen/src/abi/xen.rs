//! `xen.h`, `arch-x86/xen.h`, `arch-x86/hvm/start_info.h`, `sched.h`,
//! `memory.h`: hypercall numbers, `shared_info`, `vcpu_info`,
//! `vcpu_time_info`, `hvm_start_info`.

use super::layout;

/// `__HYPERVISOR_memory_op`.
pub const HYPERVISOR_MEMORY_OP: u32 = 12;
/// `__HYPERVISOR_xen_version`.
pub const HYPERVISOR_XEN_VERSION: u32 = 17;
/// `__HYPERVISOR_console_io`.
pub const HYPERVISOR_CONSOLE_IO: u32 = 18;
/// `__HYPERVISOR_grant_table_op`.
pub const HYPERVISOR_GRANT_TABLE_OP: u32 = 20;
/// `__HYPERVISOR_sched_op`.
pub const HYPERVISOR_SCHED_OP: u32 = 29;
/// `__HYPERVISOR_event_channel_op`.
pub const HYPERVISOR_EVENT_CHANNEL_OP: u32 = 32;
/// `__HYPERVISOR_hvm_op`.
pub const HYPERVISOR_HVM_OP: u32 = 34;

/// `SCHEDOP_yield`.
pub const SCHEDOP_YIELD: u32 = 0;
/// `SCHEDOP_block`: sleep until an event is pending.
pub const SCHEDOP_BLOCK: u32 = 1;
/// `SCHEDOP_shutdown`, argument a [`SchedShutdown`].
pub const SCHEDOP_SHUTDOWN: u32 = 2;

/// `SHUTDOWN_poweroff`.
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// `SHUTDOWN_reboot`.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// `SHUTDOWN_crash`.
pub const SHUTDOWN_CRASH: u32 = 3;

/// `struct sched_shutdown`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SchedShutdown {
    /// `SHUTDOWN_*`.
    pub reason: u32,
}
layout!(SchedShutdown, 4, reason @ 0);

/// `XENMEM_add_to_physmap`.
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
/// `XENMAPSPACE_shared_info`.
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// `XENMAPSPACE_grant_table`.
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;

/// `struct xen_add_to_physmap`: place a Xen-owned frame (shared info, a
/// grant-table frame) at a guest frame number.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct XenAddToPhysmap {
    /// Domain (`DOMID_SELF`).
    pub domid: u16,
    /// Number of pages for `gmfn_range` (unused here).
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// Index into the space (grant-table frame number).
    pub idx: u64,
    /// Where to put it.
    pub gpfn: u64,
}
layout!(XenAddToPhysmap, 24, domid @ 0, size @ 2, space @ 4, idx @ 8, gpfn @ 16);

/// `XEN_LEGACY_MAX_VCPUS` on x86.
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

/// `struct vcpu_time_info`: the per-vCPU paravirtual clock.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct VcpuTimeInfo {
    /// Odd while Xen updates the record (a seqlock).
    pub version: u32,
    /// Padding.
    pub pad0: u32,
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// Nanoseconds since boot at the last update.
    pub system_time: u64,
    /// TSC-to-nanoseconds multiplier (32.32 fixed point).
    pub tsc_to_system_mul: u32,
    /// TSC shift applied before the multiply.
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` flags.
    pub flags: u8,
    /// Padding.
    pub pad1: [u8; 2],
}
layout!(VcpuTimeInfo, 32, version @ 0, tsc_timestamp @ 8, system_time @ 16,
    tsc_to_system_mul @ 24, tsc_shift @ 28, flags @ 29);

impl VcpuTimeInfo {
    /// System time in nanoseconds at `tsc`, by the header's formula.
    pub fn system_time_at(&self, tsc: u64) -> u64 {
        let delta = tsc.wrapping_sub(self.tsc_timestamp);
        let shift = i32::from(self.tsc_shift);
        let delta = if shift >= 0 {
            delta.checked_shl(shift as u32).unwrap_or(0)
        } else {
            delta.checked_shr(shift.unsigned_abs()).unwrap_or(0)
        };
        let scaled = ((u128::from(delta) * u128::from(self.tsc_to_system_mul)) >> 32) as u64;
        self.system_time.wrapping_add(scaled)
    }
}

/// `struct arch_vcpu_info` (x86-64).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ArchVcpuInfo {
    /// Faulting address of the last page fault (PV only).
    pub cr2: u64,
    /// Padding.
    pub pad: u64,
}
layout!(ArchVcpuInfo, 16);

/// `struct vcpu_info`: per-vCPU event-delivery state and clock.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct VcpuInfo {
    /// Set by Xen when an event is pending for this vCPU.
    pub evtchn_upcall_pending: u8,
    /// Upcall mask (PV) / padding (HVM).
    pub evtchn_upcall_mask: u8,
    /// One bit per word of `evtchn_pending` with a newly pending port.
    pub evtchn_pending_sel: u64,
    /// Arch-specific state.
    pub arch: ArchVcpuInfo,
    /// The paravirtual clock.
    pub time: VcpuTimeInfo,
}
layout!(VcpuInfo, 64, evtchn_upcall_pending @ 0, evtchn_upcall_mask @ 1,
    evtchn_pending_sel @ 8, arch @ 16, time @ 32);

/// `struct arch_shared_info` (x86-64).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ArchSharedInfo {
    /// Highest guest frame number (PV).
    pub max_pfn: u64,
    /// PV p2m frame list list.
    pub pfn_to_mfn_frame_list_list: u64,
    /// NMI reason bits.
    pub nmi_reason: u64,
    /// PV p2m cr3.
    pub p2m_cr3: u64,
    /// PV p2m virtual address.
    pub p2m_vaddr: u64,
    /// PV p2m generation count.
    pub p2m_generation: u64,
}
layout!(ArchSharedInfo, 48);

/// `struct shared_info`: the page Xen shares with every domain, holding the
/// 2-level event-channel bitmaps and the wall clock.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SharedInfo {
    /// Per-vCPU records.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// Pending bit per port.
    pub evtchn_pending: [u64; 64],
    /// Mask bit per port (set: no upcall).
    pub evtchn_mask: [u64; 64],
    /// Wall-clock seqlock.
    pub wc_version: u32,
    /// Wall-clock seconds (low 32 bits).
    pub wc_sec: u32,
    /// Wall-clock nanoseconds.
    pub wc_nsec: u32,
    /// Wall-clock seconds (high 32 bits).
    pub wc_sec_hi: u32,
    /// Arch-specific state.
    pub arch: ArchSharedInfo,
}
layout!(SharedInfo, 3136, vcpu_info @ 0, evtchn_pending @ 2048, evtchn_mask @ 2560,
    wc_version @ 3072, wc_sec @ 3076, wc_nsec @ 3080, wc_sec_hi @ 3084, arch @ 3088);

/// Ports in the 2-level event-channel ABI on 64-bit: 64 words of 64 bits.
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;

/// `XEN_HVM_START_MAGIC_VALUE`.
pub const XEN_HVM_START_MAGIC_VALUE: u32 = 0x336e_c578;

/// `struct hvm_start_info`: what a PVH guest finds in `%ebx` at boot.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HvmStartInfo {
    /// [`XEN_HVM_START_MAGIC_VALUE`].
    pub magic: u32,
    /// Structure version (0 or 1).
    pub version: u32,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Number of boot modules.
    pub nr_modules: u32,
    /// Physical address of the `hvm_modlist_entry` array.
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line.
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP.
    pub rsdp_paddr: u64,
    /// Physical address of the `hvm_memmap_table_entry` array (version 1).
    pub memmap_paddr: u64,
    /// Entries in the memory map (version 1).
    pub memmap_entries: u32,
    /// Must be zero.
    pub reserved: u32,
}
layout!(HvmStartInfo, 56, magic @ 0, version @ 4, flags @ 8, nr_modules @ 12,
    modlist_paddr @ 16, cmdline_paddr @ 24, rsdp_paddr @ 32, memmap_paddr @ 40,
    memmap_entries @ 48, reserved @ 52);

/// `struct hvm_modlist_entry`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HvmModlistEntry {
    /// Physical address of the module.
    pub paddr: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Physical address of its command line.
    pub cmdline_paddr: u64,
    /// Reserved.
    pub reserved: u64,
}
layout!(HvmModlistEntry, 32);

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HvmMemmapTableEntry {
    /// Base address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// `XEN_HVM_MEMMAP_TYPE_*` (1 is RAM).
    pub ty: u32,
    /// Reserved.
    pub reserved: u32,
}
layout!(HvmMemmapTableEntry, 24, addr @ 0, size @ 8, ty @ 16);

/// `XEN_HVM_MEMMAP_TYPE_RAM`.
pub const XEN_HVM_MEMMAP_TYPE_RAM: u32 = 1;

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn pvclock_formula() {
        let t = VcpuTimeInfo {
            tsc_timestamp: 1000,
            system_time: 5_000,
            // 0.5 ns per tick after a left shift of 1 => 1 ns per tick.
            tsc_to_system_mul: 1 << 31,
            tsc_shift: 1,
            ..Default::default()
        };
        assert_eq!(t.system_time_at(1000), 5_000);
        assert_eq!(t.system_time_at(1100), 5_100);
        let t = VcpuTimeInfo {
            tsc_shift: -1,
            tsc_to_system_mul: 1 << 31,
            ..t
        };
        assert_eq!(t.system_time_at(1400), 5_100);
    }
}
