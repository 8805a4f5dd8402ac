use futures::future::join_all;
use mirage_xen::xenstore::wire::{Access, WireError};
use mirage_xen::xenstore::{Errno, XsError};

use crate::setup;

#[test]
fn read_write_directory_rm() {
    let (mut sim, host, _g, xen) = setup(1);
    let xs = xen.store().clone();
    sim.block_on(async move {
        assert_eq!(xs.read_string("name").await.unwrap(), "guest1");
        xs.write("data/greeting", b"hello").await.unwrap();
        xs.write("/local/domain/1/data/n", b"42").await.unwrap();
        assert_eq!(xs.read("data/greeting").await.unwrap(), b"hello");
        assert_eq!(xs.read_parsed::<u32>("data/n", "number").await.unwrap(), 42);
        assert!(matches!(
            xs.read_parsed::<u32>("data/greeting", "number").await,
            Err(XsError::BadValue { .. })
        ));
        xs.mkdir("data/empty").await.unwrap();
        let mut d = xs.directory("data").await.unwrap();
        d.sort();
        assert_eq!(d, ["empty", "greeting", "n"]);
        let perms = xs.get_perms("data/greeting").await.unwrap();
        assert_eq!((perms[0].domid, perms[0].access), (1, Access::None));
        xs.rm("data").await.unwrap();
        assert_eq!(xs.read("data/n").await, Err(XsError::Errno(Errno::ENOENT)));
        assert_eq!(xs.rm("data").await, Err(XsError::Errno(Errno::ENOENT)));
        assert!(matches!(
            xs.read("bad//path").await,
            Err(XsError::Wire(WireError::InvalidPath))
        ));
    })
    .unwrap();
    assert_eq!(host.store().read_string("/local/domain/1/data/n"), None);
}

#[test]
fn concurrent_requests_matched_by_id() {
    let (mut sim, _host, _g, xen) = setup(2);
    let xs = xen.store().clone();
    sim.block_on(async move {
        // Far more than the 1 KiB ring holds at once.
        let writes = (0..200).map(|i| {
            let xs = xs.clone();
            async move {
                let v = format!("value-{i}-{}", "x".repeat(i % 50));
                xs.write(&format!("c/{i}"), v.as_bytes()).await.unwrap();
                v
            }
        });
        let written = join_all(writes).await;
        let reads = (0..200).map(|i| {
            let xs = xs.clone();
            async move { xs.read_string(&format!("c/{i}")).await.unwrap() }
        });
        assert_eq!(join_all(reads).await, written);
    })
    .unwrap();
}

#[test]
fn large_values_cross_the_ring_in_pieces() {
    let (mut sim, host, _g, xen) = setup(3);
    let xs = xen.store().clone();
    let big: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
    let b2 = big.clone();
    sim.block_on(async move {
        xs.write("big", &b2).await.unwrap();
        assert_eq!(xs.read("big").await.unwrap(), b2);
    })
    .unwrap();
    assert_eq!(host.store().read("/local/domain/3/big"), None);
    assert_eq!(host.store().read("/local/domain/1/big"), Some(big));
}

#[test]
fn watches_fire() {
    let (mut sim, host, _g, xen) = setup(4);
    let xs = xen.store().clone();
    let store = host.store().clone();
    sim.block_on(async move {
        xs.watch("device", "dev").await.unwrap();
        // The initial firing.
        let ev = xs.next_watch_event("dev").await.unwrap();
        assert_eq!((ev.path.as_str(), ev.token.as_str()), ("device", "dev"));
        // A write by dom0 below the watched path; reported relative.
        store.write("/local/domain/1/device/vif/0/state", b"1");
        let ev = xs.next_watch_event("dev").await.unwrap();
        assert_eq!(ev.path, "device/vif/0/state");
        // Unrelated writes do not fire.
        store.write("/local/domain/1/other", b"1");
        xs.write("device/vif/0/state", b"2").await.unwrap();
        let ev = xs.next_watch_event("dev").await.unwrap();
        assert_eq!(ev.path, "device/vif/0/state");
        // Absolute watch, removal fires too.
        xs.watch("/local/domain/1/device/vif", "abs").await.unwrap();
        let _ = xs.next_watch_event("abs").await.unwrap();
        store.rm("/local/domain/1/device");
        let ev = xs.next_watch_event("abs").await.unwrap();
        assert_eq!(ev.path, "/local/domain/1/device");
        xs.unwatch("device", "dev").await.unwrap();
        assert_eq!(
            xs.next_watch_event("dev").await,
            Err(XsError::Errno(Errno::ENOENT))
        );
        assert_eq!(
            xs.unwatch("device", "dev").await,
            Err(XsError::Errno(Errno::ENOENT))
        );
    })
    .unwrap();
}

#[test]
fn transactions_retry_on_eagain() {
    let (mut sim, host, _g, xen) = setup(5);
    let xs = xen.store().clone();
    let store = host.store().clone();
    store.inject_eagain(3);
    let attempts = std::rc::Rc::new(std::cell::Cell::new(0));
    let a2 = attempts.clone();
    sim.block_on(async move {
        xs.write("counter", b"10").await.unwrap();
        let v = xs
            .transaction(async |tx| {
                a2.set(a2.get() + 1);
                let n: u32 = tx.read_parsed("counter", "number").await?;
                tx.write("counter", format!("{}", n + 1).as_bytes()).await?;
                tx.write("other", b"x").await?;
                Ok(n + 1)
            })
            .await
            .unwrap();
        assert_eq!(v, 11);
    })
    .unwrap();
    assert_eq!(attempts.get(), 4);
    assert_eq!(host.store().conflicts(), 3);
    assert_eq!(
        host.store()
            .read_string("/local/domain/1/counter")
            .as_deref(),
        Some("11")
    );
}

#[test]
fn transaction_conflicts_with_a_concurrent_writer() {
    let (mut sim, host, _g, xen) = setup(6);
    let xs = xen.store().clone();
    let store = host.store().clone();
    sim.block_on(async move {
        let tx = xs.start_transaction().await.unwrap();
        tx.write("t", b"from-tx").await.unwrap();
        // Not visible outside the transaction yet.
        assert_eq!(xs.read("t").await, Err(XsError::Errno(Errno::ENOENT)));
        store.write("/local/domain/1/elsewhere", b"1");
        assert_eq!(tx.commit().await, Err(XsError::Errno(Errno::EAGAIN)));
        assert_eq!(xs.read("t").await, Err(XsError::Errno(Errno::ENOENT)));
        let tx = xs.start_transaction().await.unwrap();
        tx.write("t", b"again").await.unwrap();
        tx.abort().await.unwrap();
        assert_eq!(xs.read("t").await, Err(XsError::Errno(Errno::ENOENT)));
        // An error in the body aborts and is returned.
        let r: Result<(), XsError> = xs
            .transaction(async |tx| {
                tx.write("u", b"1").await?;
                tx.read("missing").await?;
                Ok(())
            })
            .await;
        assert_eq!(r, Err(XsError::Errno(Errno::ENOENT)));
        assert_eq!(xs.read("u").await, Err(XsError::Errno(Errno::ENOENT)));
    })
    .unwrap();
}
