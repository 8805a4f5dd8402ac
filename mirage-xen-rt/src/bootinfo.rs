//! [`BootInfo`]: what the loader tells a PVH guest in `hvm_start_info`.
//!
//! At the PVH entry `%ebx` holds the physical address of a
//! `struct hvm_start_info` (Xen's `arch-x86/hvm/start_info.h`); it points on
//! to the command line and the memory map. Both Xen and QEMU (`-kernel` with
//! a PVH note) write it. The parser copies everything it keeps into
//! fixed-size fields, because it runs before the heap exists and because the
//! loader's copies live in memory the heap may later reuse.
//!
//! The structure is input from outside the guest: every count and length is
//! bounded before use and a bad value is a [`BootInfoError`].

use core::fmt;
use core::mem::{offset_of, size_of};

use mirage_xen::abi::xen::{HvmMemmapTableEntry, HvmStartInfo, XEN_HVM_START_MAGIC_VALUE};

/// Longest command line kept, in bytes (Xen's own limit for guests is 1024).
pub const MAX_CMDLINE: usize = 1024;
/// Most memory-map entries kept.
pub const MAX_REGIONS: usize = 64;

/// Reads guest-physical memory. The guest runtime reads through its
/// identity map; tests read from a buffer.
pub trait PhysMem {
    /// Fills `buf` from physical address `addr`, or fails when the range is
    /// not readable memory.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), BootInfoError>;
}

/// Why the start info could not be used. Returned by [`BootInfo::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootInfoError {
    /// `magic` is not `XEN_HVM_START_MAGIC_VALUE` (0x336ec578): not a PVH boot.
    #[error("hvm_start_info magic is {0:#x}, expected 0x336ec578")]
    BadMagic(u32),
    /// A pointer in the structure leads outside readable memory.
    #[error("hvm_start_info points at unreadable memory {addr:#x}+{len}")]
    Unreadable {
        /// Physical address.
        addr: u64,
        /// Length of the read.
        len: usize,
    },
    /// The structure has no memory map (version 0 or zero entries).
    #[error("hvm_start_info (version {0}) carries no memory map")]
    NoMemoryMap(u32),
    /// More memory-map entries than [`MAX_REGIONS`].
    #[error("memory map has {0} entries, at most {MAX_REGIONS} are supported")]
    TooManyRegions(u32),
    /// The command line has no NUL within [`MAX_CMDLINE`] bytes.
    #[error("command line longer than {MAX_CMDLINE} bytes")]
    CmdlineTooLong,
    /// The command line is not UTF-8.
    #[error("command line is not valid UTF-8")]
    CmdlineNotUtf8,
}

/// What a memory-map entry describes (`XEN_HVM_MEMMAP_TYPE_*`, the E820 types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// Usable RAM (1).
    Ram,
    /// Reserved (2).
    Reserved,
    /// ACPI tables, reclaimable after reading them (3).
    Acpi,
    /// ACPI non-volatile storage (4).
    AcpiNvs,
    /// Unusable, faulty memory (5).
    Unusable,
    /// Disabled (6).
    Disabled,
    /// Persistent memory (7).
    Persistent,
    /// A type this runtime does not know.
    Other(u32),
}

impl RegionKind {
    /// The kind for an E820 type number.
    pub fn from_type(ty: u32) -> RegionKind {
        match ty {
            1 => RegionKind::Ram,
            2 => RegionKind::Reserved,
            3 => RegionKind::Acpi,
            4 => RegionKind::AcpiNvs,
            5 => RegionKind::Unusable,
            6 => RegionKind::Disabled,
            7 => RegionKind::Persistent,
            other => RegionKind::Other(other),
        }
    }
}

/// One entry of the memory map: `[addr, addr + size)` of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// What the memory is.
    pub kind: RegionKind,
}

impl Region {
    /// One past the last byte, saturating at `u64::MAX`.
    pub fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#012x}-{:#012x} {:?}",
            self.addr,
            self.end(),
            self.kind
        )
    }
}

/// The parsed `hvm_start_info`: version, flags, command line, memory map
/// and the RSDP address, copied out of loader memory.
#[derive(Clone)]
pub struct BootInfo {
    version: u32,
    flags: u32,
    rsdp: u64,
    modules: u32,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    regions: [Region; MAX_REGIONS],
    nr_regions: usize,
}

impl fmt::Debug for BootInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootInfo")
            .field("version", &self.version)
            .field("flags", &self.flags)
            .field("cmdline", &self.cmdline())
            .field("regions", &self.regions())
            .finish()
    }
}

fn read_struct<M: PhysMem + ?Sized, const N: usize>(
    mem: &M,
    addr: u64,
) -> Result<[u8; N], BootInfoError> {
    let mut buf = [0u8; N];
    mem.read(addr, &mut buf)?;
    Ok(buf)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

const START_INFO_SIZE: usize = size_of::<HvmStartInfo>();
const MEMMAP_ENTRY_SIZE: usize = size_of::<HvmMemmapTableEntry>();

impl BootInfo {
    /// Parses the `hvm_start_info` at physical address `addr`, following its
    /// command-line and memory-map pointers through `mem`.
    pub fn parse<M: PhysMem + ?Sized>(mem: &M, addr: u64) -> Result<BootInfo, BootInfoError> {
        let si: [u8; START_INFO_SIZE] = read_struct(mem, addr)?;
        let magic = u32_at(&si, offset_of!(HvmStartInfo, magic));
        if magic != XEN_HVM_START_MAGIC_VALUE {
            return Err(BootInfoError::BadMagic(magic));
        }
        let version = u32_at(&si, offset_of!(HvmStartInfo, version));
        let mut info = BootInfo {
            version,
            flags: u32_at(&si, offset_of!(HvmStartInfo, flags)),
            rsdp: u64_at(&si, offset_of!(HvmStartInfo, rsdp_paddr)),
            modules: u32_at(&si, offset_of!(HvmStartInfo, nr_modules)),
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
            regions: [Region {
                addr: 0,
                size: 0,
                kind: RegionKind::Reserved,
            }; MAX_REGIONS],
            nr_regions: 0,
        };

        let cmdline_paddr = u64_at(&si, offset_of!(HvmStartInfo, cmdline_paddr));
        if cmdline_paddr != 0 {
            info.read_cmdline(mem, cmdline_paddr)?;
        }

        // The memory map fields exist from version 1 on.
        let entries = if version >= 1 {
            u32_at(&si, offset_of!(HvmStartInfo, memmap_entries))
        } else {
            0
        };
        let memmap = u64_at(&si, offset_of!(HvmStartInfo, memmap_paddr));
        if entries == 0 || memmap == 0 {
            return Err(BootInfoError::NoMemoryMap(version));
        }
        if entries as usize > MAX_REGIONS {
            return Err(BootInfoError::TooManyRegions(entries));
        }
        for i in 0..entries as usize {
            let at = memmap.checked_add((i * MEMMAP_ENTRY_SIZE) as u64).ok_or(
                BootInfoError::Unreadable {
                    addr: memmap,
                    len: MEMMAP_ENTRY_SIZE,
                },
            )?;
            let e: [u8; MEMMAP_ENTRY_SIZE] = read_struct(mem, at)?;
            info.regions[i] = Region {
                addr: u64_at(&e, offset_of!(HvmMemmapTableEntry, addr)),
                size: u64_at(&e, offset_of!(HvmMemmapTableEntry, size)),
                kind: RegionKind::from_type(u32_at(&e, offset_of!(HvmMemmapTableEntry, ty))),
            };
        }
        info.nr_regions = entries as usize;
        Ok(info)
    }

    fn read_cmdline<M: PhysMem + ?Sized>(
        &mut self,
        mem: &M,
        addr: u64,
    ) -> Result<(), BootInfoError> {
        // Byte by byte up to the NUL: the string may end right before
        // unreadable memory, so a block read could fail spuriously.
        for i in 0..MAX_CMDLINE {
            let mut b = [0u8];
            let at = addr
                .checked_add(i as u64)
                .ok_or(BootInfoError::Unreadable { addr, len: i })?;
            mem.read(at, &mut b)?;
            if b[0] == 0 {
                core::str::from_utf8(&self.cmdline[..i])
                    .map_err(|_| BootInfoError::CmdlineNotUtf8)?;
                self.cmdline_len = i;
                return Ok(());
            }
            self.cmdline[i] = b[0];
        }
        Err(BootInfoError::CmdlineTooLong)
    }

    /// The structure version (1 carries the memory map).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `SIF_*` flags.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Physical address of the ACPI RSDP, 0 when absent.
    pub fn rsdp(&self) -> u64 {
        self.rsdp
    }

    /// Number of boot modules the loader passed (they are not used).
    pub fn modules(&self) -> u32 {
        self.modules
    }

    /// The command line (empty when there is none).
    pub fn cmdline(&self) -> &str {
        // Checked to be UTF-8 when it was read.
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }

    /// The memory map, in the loader's order.
    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.nr_regions]
    }

    /// Total bytes of RAM in the memory map.
    pub fn ram_bytes(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Ram)
            .fold(0u64, |acc, r| acc.saturating_add(r.size))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    /// Physical memory backed by a buffer starting at `base`.
    struct Buf {
        base: u64,
        bytes: Vec<u8>,
    }

    impl PhysMem for Buf {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), BootInfoError> {
            let err = BootInfoError::Unreadable {
                addr,
                len: buf.len(),
            };
            let off = addr.checked_sub(self.base).ok_or(err)? as usize;
            let src = self
                .bytes
                .get(off..off.checked_add(buf.len()).ok_or(err)?)
                .ok_or(err)?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    /// A start info at 0x1000 with the command line at 0x1100 and the
    /// memory map at 0x1200, as QEMU lays it out.
    fn image(cmdline: &[u8], regions: &[(u64, u64, u32)], version: u32) -> Buf {
        let mut b = vec![0u8; 0x1000];
        b[0..4].copy_from_slice(&XEN_HVM_START_MAGIC_VALUE.to_le_bytes());
        b[4..8].copy_from_slice(&version.to_le_bytes());
        b[24..32].copy_from_slice(&0x1100u64.to_le_bytes());
        b[32..40].copy_from_slice(&0xf_0000u64.to_le_bytes());
        b[40..48].copy_from_slice(&0x1200u64.to_le_bytes());
        b[48..52].copy_from_slice(&(regions.len() as u32).to_le_bytes());
        b[0x100..0x100 + cmdline.len()].copy_from_slice(cmdline);
        for (i, &(addr, size, ty)) in regions.iter().enumerate() {
            let o = 0x200 + i * 24;
            b[o..o + 8].copy_from_slice(&addr.to_le_bytes());
            b[o + 8..o + 16].copy_from_slice(&size.to_le_bytes());
            b[o + 16..o + 20].copy_from_slice(&ty.to_le_bytes());
        }
        Buf {
            base: 0x1000,
            bytes: b,
        }
    }

    #[test]
    fn test_parse_qemu_layout() {
        let mem = image(
            b"ipv4=10.0.0.2/24 quiet\0",
            &[
                (0, 0x9fc00, 1),
                (0xf0000, 0x10000, 2),
                (0x10_0000, 0x7ee_0000, 1),
            ],
            1,
        );
        let info = BootInfo::parse(&mem, 0x1000).unwrap();
        assert_eq!(info.version(), 1);
        assert_eq!(info.cmdline(), "ipv4=10.0.0.2/24 quiet");
        assert_eq!(info.rsdp(), 0xf_0000);
        assert_eq!(info.regions().len(), 3);
        assert_eq!(info.regions()[1].kind, RegionKind::Reserved);
        assert_eq!(info.regions()[2].end(), 0x7fe_0000);
        assert_eq!(info.ram_bytes(), 0x9fc00 + 0x7ee_0000);
    }

    #[test]
    fn test_bad_magic() {
        let mut mem = image(b"\0", &[(0, 4096, 1)], 1);
        mem.bytes[0] ^= 1;
        assert!(matches!(
            BootInfo::parse(&mem, 0x1000),
            Err(BootInfoError::BadMagic(_))
        ));
    }

    #[test]
    fn test_version_0_has_no_memory_map() {
        let mem = image(b"\0", &[(0, 4096, 1)], 0);
        assert_eq!(
            BootInfo::parse(&mem, 0x1000).unwrap_err(),
            BootInfoError::NoMemoryMap(0)
        );
    }

    #[test]
    fn test_unterminated_cmdline() {
        let mut mem = image(b"", &[(0, 4096, 1)], 1);
        for b in &mut mem.bytes[0x100..] {
            *b = b'a';
        }
        assert_eq!(
            BootInfo::parse(&mem, 0x1000).unwrap_err(),
            BootInfoError::CmdlineTooLong
        );
        // The string runs into the end of readable memory.
        mem.bytes.truncate(0x180);
        assert!(matches!(
            BootInfo::parse(&mem, 0x1000),
            Err(BootInfoError::Unreadable { .. })
        ));
    }

    #[test]
    fn test_too_many_regions() {
        let regions = vec![(0, 4096, 1); MAX_REGIONS + 1];
        let mem = image(b"\0", &regions, 1);
        assert_eq!(
            BootInfo::parse(&mem, 0x1000).unwrap_err(),
            BootInfoError::TooManyRegions(MAX_REGIONS as u32 + 1)
        );
    }

    quickcheck! {
        fn prop_never_panics(bytes: Vec<u8>, at: u16) -> bool {
            let mem = Buf { base: 0, bytes };
            let _ = BootInfo::parse(&mem, u64::from(at));
            true
        }

        fn prop_regions_round_trip(regions: Vec<(u64, u64, u32)>) -> bool {
            let regions = &regions[..regions.len().min(MAX_REGIONS)];
            let mem = image(b"x\0", regions, 1);
            match BootInfo::parse(&mem, 0x1000) {
                Ok(info) => info.regions().iter().zip(regions).all(|(r, &(a, s, t))| {
                    r.addr == a && r.size == s && r.kind == RegionKind::from_type(t)
                }) && info.regions().len() == regions.len(),
                Err(e) => regions.is_empty() && e == BootInfoError::NoMemoryMap(1),
            }
        }
    }
}
