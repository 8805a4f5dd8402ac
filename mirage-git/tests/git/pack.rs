//! Properties of the pack reader, and packs written by `git pack-objects`
//! with offset deltas and with reference deltas.

use std::io::Write;
use std::process::{Command, Stdio};

use mirage_git::pack::{self, Limits};
use mirage_git::{MemStore, ObjectKind};
use quickcheck::QuickCheck;

use crate::common::*;

#[test]
fn never_panics_on_arbitrary_bytes() {
    fn prop(mut bytes: Vec<u8>, header: bool) -> bool {
        if header {
            let mut b = b"PACK\0\0\0\x02\0\0\0\x03".to_vec();
            b.append(&mut bytes);
            bytes = b;
        }
        pack::verify(&bytes, &Limits::default(), &MemStore::new()).is_err()
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Vec<u8>, bool) -> bool);
}

#[test]
fn mutated_packs_are_refused() {
    fn prop(blobs: Vec<Vec<u8>>, pos: usize, xor: u8) -> bool {
        let good = pack::write_pack(
            blobs.iter().map(|d| (ObjectKind::Blob, d.as_slice())),
            blobs.len(),
        )
        .unwrap();
        let verified = pack::verify(&good, &Limits::default(), &MemStore::new()).unwrap();
        let same = verified.objects.iter().map(|o| &o.data).eq(blobs.iter());
        let mut bad = good.clone();
        let i = pos % bad.len();
        bad[i] ^= xor.max(1);
        same && pack::verify(&bad, &Limits::default(), &MemStore::new()).is_err()
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<Vec<u8>>, usize, u8) -> bool);
}

/// A pack of every object of the test repository from `git pack-objects`.
fn git_pack(repo: &std::path::Path, ofs_delta: bool) -> Vec<u8> {
    let ids = git(repo, &["rev-list", "--objects", "--all"]);
    let mut args = vec!["pack-objects", "--stdout", "--window=50", "--depth=50"];
    if ofs_delta {
        args.push("--delta-base-offset");
    }
    let mut child = Command::new("git")
        .current_dir(repo)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let list: String = ids.lines().map(|l| format!("{}\n", &l[..40])).collect();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn git_packs_with_offset_and_reference_deltas() {
    if !have_git("git_packs_with_offset_and_reference_deltas") {
        return;
    }
    let tmp = TempDir::new("packs");
    let repo = make_repo(&tmp.0);
    let all = all_objects(&repo);
    for ofs in [true, false] {
        let bytes = git_pack(&repo, ofs);
        let verified = pack::verify(&bytes, &Limits::default(), &MemStore::new()).unwrap();
        assert_eq!(verified.objects.len(), all.len());
        assert!(verified.deltas > 0, "git made deltas (ofs-delta: {ofs})");
        let mut ids: Vec<_> = verified.objects.iter().map(|o| o.id).collect();
        ids.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(ids, expected);

        // Limits apply to resolved objects too.
        let tight = Limits {
            max_total_bytes: 2000,
            ..Limits::default()
        };
        assert!(pack::verify(&bytes, &tight, &MemStore::new()).is_err());
        let few = Limits {
            max_objects: 3,
            ..Limits::default()
        };
        assert!(pack::verify(&bytes, &few, &MemStore::new()).is_err());
    }
}
