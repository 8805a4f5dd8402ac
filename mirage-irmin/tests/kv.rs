//! mirage-core's key-value contract on a store, in memory and on disk, and
//! random operation sequences compared with mirage-core's in-memory KV.

mod common;

use bytes::Bytes;
#[cfg(feature = "fs")]
use common::{SystemClock, TempDir};
use futures::executor::block_on;
use mirage_core::mem::{MemKv, VirtualClock};
use mirage_core::{Change, Key, KvError, KvRo, KvRw};
#[cfg(feature = "fs")]
use mirage_irmin::{FsBackend, FsOptions, HashKind};
use mirage_irmin::{MemBackend, Repo};
use quickcheck::{Arbitrary, Gen, QuickCheck};

#[test]
fn conformance_in_memory() {
    let repo = Repo::new(MemBackend::default(), VirtualClock::default());
    let store = repo.branch("main").unwrap();
    block_on(mirage_core::conformance::kv_rw(&store));
    let detached = repo.at_commit(block_on(store.head()).unwrap().unwrap());
    block_on(mirage_core::conformance::kv_rw(&detached));
}

#[cfg(feature = "fs")]
#[test]
fn conformance_on_disk() {
    let tmp = TempDir::new("kv-conformance");
    let backend = FsBackend::init(
        tmp.path().join("r.git"),
        HashKind::Sha1,
        FsOptions::default(),
    )
    .unwrap();
    let repo = Repo::new(backend, SystemClock);
    let store = repo.branch("main").unwrap();
    block_on(mirage_core::conformance::kv_rw(&store));
    let k = |s: &str| Key::parse(s).unwrap();
    block_on(async {
        KvRw::set(&store, &k("x/y"), Bytes::from_static(b"hello"))
            .await
            .unwrap();
        KvRw::set(&store, &k("z"), Bytes::from_static(b"world"))
            .await
            .unwrap();
    });
    let expected = vec![
        (k("x/y"), Bytes::from_static(b"hello")),
        (k("z"), Bytes::from_static(b"world")),
    ];
    block_on(mirage_core::conformance::kv_ro(&store, &expected));
    // Digests are git object ids: `printf hello | git hash-object --stdin`.
    let d = block_on(KvRo::digest(&store, &k("x/y"))).unwrap();
    assert_eq!(d.to_string(), "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");
}

#[derive(Debug, Clone)]
enum KvOp {
    Set(Key, Vec<u8>),
    SetPartial(Key, u8, Vec<u8>),
    Remove(Key),
    Rename(Key, Key),
    Batch(Vec<(Key, Option<Vec<u8>>)>),
}

fn small_key(g: &mut Gen) -> Key {
    let names = ["a", "b", "c"];
    let depth = 1 + usize::arbitrary(g) % 3;
    Key::from_segments((0..depth).map(|_| *g.choose(&names).unwrap())).unwrap()
}

fn small_value(g: &mut Gen) -> Vec<u8> {
    let len = usize::arbitrary(g) % 6;
    (0..len).map(|_| u8::arbitrary(g)).collect()
}

impl Arbitrary for KvOp {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 5 {
            0 => KvOp::Set(small_key(g), small_value(g)),
            1 => KvOp::SetPartial(small_key(g), u8::arbitrary(g) % 8, small_value(g)),
            2 => KvOp::Remove(small_key(g)),
            3 => KvOp::Rename(small_key(g), small_key(g)),
            _ => KvOp::Batch(
                (0..usize::arbitrary(g) % 4)
                    .map(|_| (small_key(g), bool::arbitrary(g).then(|| small_value(g))))
                    .collect(),
            ),
        }
    }
}

fn same_error(a: &KvError, b: &KvError) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

async fn apply<K: KvRw>(kv: &K, op: &KvOp) -> Result<(), KvError> {
    match op {
        KvOp::Set(k, v) => kv.set(k, Bytes::from(v.clone())).await,
        KvOp::SetPartial(k, off, v) => kv.set_partial(k, u64::from(*off), v).await,
        KvOp::Remove(k) => kv.remove(k).await,
        KvOp::Rename(a, b) => kv.rename(a, b).await,
        KvOp::Batch(changes) => {
            kv.batch(
                changes
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => Change::Set(k.clone(), Bytes::from(v.clone())),
                        None => Change::Remove(k.clone()),
                    })
                    .collect(),
            )
            .await
        }
    }
}

/// Everything readable: per key of the small key space, exists/get/list.
async fn observe<K: KvRo>(kv: &K) -> Vec<String> {
    let mut out = Vec::new();
    let names = ["a", "b", "c"];
    let mut keys = vec![Key::root()];
    for d1 in names {
        keys.push(Key::parse(d1).unwrap());
        for d2 in names {
            keys.push(Key::parse(&format!("{d1}/{d2}")).unwrap());
            for d3 in names {
                keys.push(Key::parse(&format!("{d1}/{d2}/{d3}")).unwrap());
            }
        }
    }
    for k in keys {
        let exists = kv.exists(&k).await.map_err(|e| e.to_string());
        let get = kv
            .get(&k)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| format!("{e:?}").split('(').next().unwrap().to_owned());
        let list = kv
            .list(&k)
            .await
            .map_err(|e| format!("{e:?}").split('(').next().unwrap().to_owned());
        out.push(format!("{k}: {exists:?} {get:?} {list:?}"));
    }
    out
}

fn same_as_mem_kv(ops: Vec<KvOp>) -> bool {
    let clock = VirtualClock::default();
    let model = MemKv::new(clock.clone());
    let repo = Repo::new(MemBackend::default(), clock);
    let store = repo.branch("main").unwrap();
    block_on(async {
        for op in &ops {
            let a = apply(&model, op).await;
            let b = apply(&store, op).await;
            match (&a, &b) {
                (Ok(()), Ok(())) => {}
                (Err(x), Err(y)) if same_error(x, y) => {}
                _ => {
                    eprintln!("{op:?}: model {a:?}, store {b:?}");
                    return false;
                }
            }
            let (m, s) = (observe(&model).await, observe(&store).await);
            if m != s {
                for (x, y) in m.iter().zip(&s) {
                    if x != y {
                        eprintln!("after {op:?}:\n model {x}\n store {y}");
                    }
                }
                return false;
            }
        }
        true
    })
}

#[test]
fn random_operations_read_like_mirage_core_mem_kv() {
    QuickCheck::new()
        .tests(150)
        .quickcheck(same_as_mem_kv as fn(Vec<KvOp>) -> bool);
}
