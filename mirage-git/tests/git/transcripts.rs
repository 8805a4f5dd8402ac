//! Responses captured from git 2.47.3 (see `tests/data/README.md`), parsed
//! without a network or a `git` binary.

use futures::executor::block_on;
use mirage_git::io::SliceInput;
use mirage_git::pack::{self, Limits};
use mirage_git::pktline::PktReader;
use mirage_git::protocol::{receive_pack, v2};
use mirage_git::{MemStore, ObjectId, ObjectKind};

const MAIN: &str = "71010a4690aeea7cf8f6c5f11179419ada1b0914";
const TAG: &str = "e749c93aed4d5ca12bb271e85113547a4fec103e";

fn id(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex.as_bytes()).unwrap()
}

fn reader(bytes: &[u8], chunk: usize) -> PktReader<SliceInput<'_>> {
    PktReader::new(SliceInput::new(bytes, chunk))
}

#[test]
fn upload_pack_advertisement() {
    let bytes = include_bytes!("../data/upload-pack-v2-advertisement.bin");
    let caps = block_on(v2::read_capabilities(&mut reader(bytes, 5))).unwrap();
    assert_eq!(caps.get("agent"), Some(Some("git/2.47.3")));
    assert!(caps.has_feature("ls-refs", "unborn"));
    assert!(caps.has_feature("fetch", "shallow"));
    assert!(caps.has_feature("fetch", "wait-for-done"));
    assert_eq!(caps.get("object-format"), Some(Some("sha1")));
}

#[test]
fn ls_refs_response() {
    let bytes = include_bytes!("../data/ls-refs-response.bin");
    let refs = block_on(v2::read_ls_refs(&mut reader(bytes, 0))).unwrap();
    let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["HEAD", "refs/heads/main", "refs/tags/v1"]);
    assert_eq!(refs[0].symref_target.as_deref(), Some("refs/heads/main"));
    assert_eq!(refs[1].id, Some(id(MAIN)));
    assert_eq!(refs[2].id, Some(id(TAG)));
    assert_eq!(refs[2].peeled, Some(id(MAIN)));
}

#[test]
fn fetch_response_with_pack() {
    let bytes = include_bytes!("../data/fetch-response.bin");
    for chunk in [0, 1, 100] {
        let mut progress = Vec::new();
        let resp = block_on(v2::read_fetch_response(
            &mut reader(bytes, chunk),
            1 << 20,
            &mut |p| progress.extend_from_slice(p),
        ))
        .unwrap();
        assert!(String::from_utf8_lossy(&progress).contains("Enumerating objects: 7, done."));
        let pack_bytes = resp.pack.unwrap();
        let verified = pack::verify(&pack_bytes, &Limits::default(), &MemStore::new()).unwrap();
        let mut got: Vec<(String, ObjectKind)> = verified
            .objects
            .iter()
            .map(|o| (o.id.to_string(), o.kind))
            .collect();
        got.sort();
        // As `git cat-file --batch-all-objects --batch-check` lists them.
        let expected = [
            (
                "11706d54dff023594fd06f6d42d75ca82eabc1ee",
                ObjectKind::Commit,
            ),
            ("2227cddb7f6318ea735a1c4adb52f5cd36c5783c", ObjectKind::Blob),
            ("2e81171448eb9f2ee3821e3d447aa6b2fe3ddba1", ObjectKind::Tree),
            (MAIN, ObjectKind::Commit),
            ("ce013625030ba8dba906f756967f9e9ca394464a", ObjectKind::Blob),
            (TAG, ObjectKind::Tag),
            ("e95bc8444bcd06692c882451e807e45dfe27b5ba", ObjectKind::Tree),
        ];
        let expected: Vec<(String, ObjectKind)> =
            expected.iter().map(|(h, k)| (h.to_string(), *k)).collect();
        assert_eq!(got, expected);
    }
    // The same response cut short is an error at every length.
    for len in (0..bytes.len()).step_by(37) {
        let r = block_on(v2::read_fetch_response(
            &mut reader(&bytes[..len], 0),
            1 << 20,
            &mut |_| {},
        ));
        let ok = r
            .ok()
            .and_then(|r| r.pack)
            .map(|p| pack::verify(&p, &Limits::default(), &MemStore::new()).is_ok());
        assert_ne!(
            ok,
            Some(true),
            "a response cut at {len} bytes must not verify"
        );
    }
}

#[test]
fn receive_pack_advertisement() {
    let bytes = include_bytes!("../data/receive-pack-advertisement.bin");
    let adv = block_on(receive_pack::read_advertisement(&mut reader(bytes, 3))).unwrap();
    assert_eq!(
        adv.refs,
        vec![
            ("refs/heads/main".to_string(), id(MAIN)),
            ("refs/tags/v1".to_string(), id(TAG))
        ]
    );
    for cap in [
        "report-status",
        "delete-refs",
        "side-band-64k",
        "atomic",
        "ofs-delta",
        "agent",
    ] {
        assert!(adv.has(cap), "{cap}");
    }
    let chosen = receive_pack::choose_capabilities(&adv, true);
    assert_eq!(
        &chosen[..4],
        [
            "report-status",
            "side-band-64k",
            "delete-refs",
            "object-format=sha1"
        ]
    );
}
