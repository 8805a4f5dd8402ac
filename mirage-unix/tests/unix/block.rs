use std::io::Write;

use mirage_core::{Block, BlockError, conformance};
use mirage_unix::FileBlock;
use mirage_unix::block::FileBlockError;

use crate::block_on;

fn image(sectors: usize, extra: usize) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let data: Vec<u8> = (0..sectors * 512 + extra)
        .map(|i| (i % 253) as u8)
        .collect();
    f.write_all(&data).unwrap();
    f
}

#[test]
fn file_block_meets_the_contract() {
    let f = image(16, 0);
    let dev = FileBlock::open(f.path(), true).unwrap();
    assert_eq!(dev.info().sectors, 16);
    block_on(conformance::block(&dev));
    // What was written is in the file.
    let data = std::fs::read(f.path()).unwrap();
    assert_eq!(&data[2 * 512..3 * 512], &[0xa5; 512][..]);
}

#[test]
fn read_only_file_block_refuses_writes() {
    let f = image(8, 100);
    let dev = FileBlock::open(f.path(), false).unwrap();
    assert_eq!(
        dev.info().sectors,
        8,
        "a partial last sector is not counted"
    );
    block_on(async {
        conformance::block_read_only(&dev).await;
        assert!(matches!(dev.flush().await, Err(BlockError::ReadOnly)));
    });
}

#[test]
fn larger_sectors_and_bad_paths() {
    let f = image(16, 0);
    let dev = FileBlock::open_with_sector_size(f.path(), true, 4096).unwrap();
    assert_eq!(dev.info().sectors, 2);
    assert!(matches!(
        FileBlock::open_with_sector_size(f.path(), true, 1000),
        Err(FileBlockError::BadSectorSize(1000))
    ));
    assert!(matches!(
        FileBlock::open("/nonexistent/disk.img", false),
        Err(FileBlockError::Open { .. })
    ));
    assert!(matches!(
        FileBlock::open(std::env::temp_dir(), false),
        Err(FileBlockError::NotAFile(_))
    ));
}

/// Detaches a loop device however the test ends.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.0])
            .output();
    }
}

#[test]
fn file_block_on_a_block_device() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIP: needs root for a loop device");
        return;
    }
    let f = image(2048, 0);
    let out = match std::process::Command::new("losetup")
        .args(["-f", "--show"])
        .arg(f.path())
        .output()
    {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            println!("SKIP: losetup cannot attach a loop device here: {why}");
            return;
        }
        Err(_) => {
            println!("SKIP: `losetup` (util-linux) is not installed");
            return;
        }
    };
    let dev = Loop(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    let block = FileBlock::open(&dev.0, true).unwrap();
    assert_eq!(block.info().sectors, 2048, "the size of {}", dev.0);
    block_on(conformance::block(&block));
}
