//! Property: merging two branches that changed disjoint paths gives the same
//! tree whichever side is merged into which, and that tree holds both sides' changes.

mod common;

use std::collections::BTreeMap;

use futures::executor::block_on;
use mirage_core::Key;
use mirage_core::mem::VirtualClock;
use mirage_irmin::{MemBackend, Merges, Op, Repo};
use quickcheck::{Arbitrary, Gen, QuickCheck};

/// Paths none of which is a prefix of another, so disjoint changes never clash.
const PATHS: [&str; 8] = ["a", "b/c", "b/d", "e/f/g", "e/f/h", "e/i", "j/k", "l"];

#[derive(Debug, Clone)]
struct Scenario {
    base: Vec<Option<u8>>,
    /// Per path: which side changes it (0 none, 1 ours, 2 theirs) and to what (`None`: removed).
    changes: Vec<(u8, Option<u8>)>,
}

impl Arbitrary for Scenario {
    fn arbitrary(g: &mut Gen) -> Self {
        Scenario {
            base: PATHS.iter().map(|_| Option::<u8>::arbitrary(g)).collect(),
            changes: PATHS
                .iter()
                .map(|_| (u8::arbitrary(g) % 3, Option::<u8>::arbitrary(g)))
                .collect(),
        }
    }
}

fn ops(values: impl Iterator<Item = (usize, Option<u8>)>) -> Vec<Op> {
    values
        .map(|(i, v)| {
            let k = Key::parse(PATHS[i]).unwrap();
            match v {
                Some(v) => Op::Set(k, vec![v].into()),
                None => Op::Remove(k),
            }
        })
        .collect()
}

fn merge_commutes(s: Scenario) -> bool {
    let repo = Repo::new(MemBackend::default(), VirtualClock::default());
    let info = repo.info("x");
    block_on(async {
        let main = repo.branch("main").unwrap();
        main.apply(&ops(s.base.iter().copied().enumerate()), &info)
            .await
            .unwrap();
        let base = main.head().await.unwrap();
        let side = |n: u8| {
            ops(s
                .changes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.0 == n)
                .map(|(i, c)| (i, c.1)))
        };
        let ours = repo.detached_at(base);
        ours.apply(&side(1), &info).await.unwrap();
        let theirs = repo.detached_at(base);
        theirs.apply(&side(2), &info).await.unwrap();
        let (o, t) = (ours.head().await.unwrap(), theirs.head().await.unwrap());

        let x = repo.detached_at(o);
        let y = repo.detached_at(t);
        if let Some(t) = t {
            x.merge_commit(t, &Merges::new(), info.clone())
                .await
                .unwrap();
        }
        if let Some(o) = o {
            y.merge_commit(o, &Merges::new(), info.clone())
                .await
                .unwrap();
        }
        let (tx, ty) = (x.root_tree().await.unwrap(), y.root_tree().await.unwrap());
        // The expected contents: base, then both sides' changes.
        let mut expected = BTreeMap::new();
        for (i, v) in s.base.iter().enumerate() {
            if let Some(v) = v {
                expected.insert(PATHS[i], vec![*v]);
            }
        }
        for (i, (who, v)) in s.changes.iter().enumerate() {
            if *who != 0 {
                match v {
                    Some(v) => expected.insert(PATHS[i], vec![*v]),
                    None => expected.remove(PATHS[i]),
                };
            }
        }
        let mut actual = BTreeMap::new();
        for p in PATHS {
            if let Some(v) = x.find(&Key::parse(p).unwrap()).await.unwrap() {
                actual.insert(p, v.to_vec());
            }
        }
        tx == ty && actual == expected
    })
}

#[test]
fn merge_of_disjoint_changes_commutes() {
    QuickCheck::new()
        .tests(200)
        .quickcheck(merge_commutes as fn(Scenario) -> bool);
}
