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

/// Replaces the trailing checksum so a mutated pack gets past it and
/// reaches the entry parser, inflater and delta resolver.
fn reseal(pack: &mut [u8]) {
    let n = pack.len() - 20;
    let mut h = gix_hash::hasher(gix_hash::Kind::Sha1);
    h.update(&pack[..n]);
    let sum = h.try_finalize().unwrap();
    pack[n..].copy_from_slice(sum.as_bytes());
}

/// The pack inside the captured fetch response.
fn captured_pack() -> Vec<u8> {
    let bytes = include_bytes!("../data/fetch-response.bin");
    let mut r = mirage_git::pktline::PktReader::new(mirage_git::io::SliceInput::new(bytes, 0));
    let resp = futures::executor::block_on(mirage_git::protocol::v2::read_fetch_response(
        &mut r,
        1 << 20,
        &mut |_| {},
    ))
    .unwrap();
    resp.pack.unwrap()
}

#[test]
fn resealed_mutations_never_panic() {
    fn prop(edits: Vec<(usize, u8)>) -> bool {
        let mut pack = captured_pack();
        let body = pack.len() - 20;
        for (pos, b) in &edits {
            pack[12 + pos % (body - 12)] = *b;
        }
        reseal(&mut pack);
        let limits = Limits {
            max_object_bytes: 1 << 20,
            max_total_bytes: 4 << 20,
            ..Limits::default()
        };
        match pack::verify(&pack, &limits, &MemStore::new()) {
            // An edit that changes nothing (or only a zlib detail that
            // inflates the same) still yields the same objects.
            Ok(v) => v.objects.len() == 7,
            Err(_) => true,
        }
    }
    QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(Vec<(usize, u8)>) -> bool);
}

#[test]
fn resealed_mutations_of_delta_packs_never_panic() {
    if !have_git("resealed_mutations_of_delta_packs_never_panic") {
        return;
    }
    let tmp = TempDir::new("mutate");
    let repo = make_repo(&tmp.0);
    let good = git_pack(&repo, true);
    let limits = Limits {
        max_object_bytes: 1 << 20,
        max_total_bytes: 16 << 20,
        ..Limits::default()
    };
    let total = pack::verify(&good, &limits, &MemStore::new())
        .unwrap()
        .objects
        .len();
    // A fixed pseudo-random walk over positions and values (xorshift).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut refused = 0;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut pack = good.clone();
        let body = pack.len() - 20;
        pack[12 + (x as usize) % (body - 12)] ^= (x >> 32) as u8 | 1;
        reseal(&mut pack);
        match pack::verify(&pack, &limits, &MemStore::new()) {
            Ok(v) => assert_eq!(v.objects.len(), total),
            Err(_) => refused += 1,
        }
    }
    assert!(
        refused > 1000,
        "most single-byte changes are caught: {refused}"
    );
}
