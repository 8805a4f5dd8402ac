use alloc::vec;

use crate::block::{Block, BlockError};

/// Checks the read-write contract on a device of at least 8 sectors. Its
/// contents are overwritten.
pub async fn block<B: Block + ?Sized>(dev: &B) {
    let info = dev.info();
    assert!(info.read_write, "the device under test must be writable");
    assert!(
        info.sector_size.is_power_of_two(),
        "sector size is a power of two"
    );
    assert!(
        info.sectors >= 8,
        "the device under test needs at least 8 sectors"
    );
    let ss = info.sector_size as usize;

    // Write two sectors from two buffers, read them back in one.
    let a = vec![0xa5u8; ss];
    let b: alloc::vec::Vec<u8> = (0..ss).map(|i| i as u8).collect();
    dev.write(2, &[&a, &b]).await.expect("scatter write");
    let mut whole = vec![0u8; 2 * ss];
    dev.read(2, &mut [&mut whole]).await.expect("read back");
    assert_eq!(&whole[..ss], &a[..], "first sector reads as written");
    assert_eq!(&whole[ss..], &b[..], "second sector reads as written");

    // Gather read into two buffers.
    let mut x = vec![0u8; ss];
    let mut y = vec![0u8; ss];
    dev.read(2, &mut [&mut x, &mut y])
        .await
        .expect("gather read");
    assert_eq!((x, y), (a.clone(), b.clone()), "gather read matches");

    // The last sector is reachable; one past it is not.
    let last = info.sectors - 1;
    dev.write(last, &[&a]).await.expect("write the last sector");
    let mut buf = vec![0u8; ss];
    dev.read(last, &mut [&mut buf])
        .await
        .expect("read the last sector");
    assert_eq!(buf, a, "last sector reads as written");
    let mut two = vec![0u8; 2 * ss];
    assert!(
        matches!(
            dev.read(last, &mut [&mut two]).await,
            Err(BlockError::OutOfRange { .. })
        ),
        "a read crossing the end is OutOfRange"
    );
    assert!(
        matches!(
            dev.write(info.sectors, &[&a]).await,
            Err(BlockError::OutOfRange { .. })
        ),
        "a write past the end is OutOfRange"
    );
    assert!(
        matches!(
            dev.read(u64::MAX, &mut [&mut buf]).await,
            Err(BlockError::OutOfRange { .. })
        ),
        "a read at u64::MAX is OutOfRange, not an overflow"
    );
    let mut odd = vec![0u8; ss + 1];
    assert!(
        matches!(
            dev.read(0, &mut [&mut odd]).await,
            Err(BlockError::Unaligned { .. })
        ),
        "a buffer that is not whole sectors is Unaligned"
    );
    // A failed write changed nothing.
    dev.read(last, &mut [&mut buf])
        .await
        .expect("read the last sector");
    assert_eq!(buf, a, "failed requests leave data alone");
    dev.flush().await.expect("flush");
}

/// Checks that a read-only device refuses writes and flushes cleanly or
/// with [`BlockError::ReadOnly`], while reads work.
pub async fn block_read_only<B: Block + ?Sized>(dev: &B) {
    let info = dev.info();
    assert!(!info.read_write, "the device under test must be read-only");
    let ss = info.sector_size as usize;
    let mut buf = vec![0u8; ss];
    dev.read(0, &mut [&mut buf])
        .await
        .expect("reads work on a read-only device");
    let before = buf.clone();
    assert!(
        matches!(
            dev.write(0, &[&vec![1u8; ss]]).await,
            Err(BlockError::ReadOnly)
        ),
        "writes are refused with ReadOnly"
    );
    dev.read(0, &mut [&mut buf]).await.expect("read");
    assert_eq!(buf, before, "a refused write changed nothing");
}
