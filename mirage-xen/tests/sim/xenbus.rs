use mirage_xen::sim::blkback::{DiskConfig, add_vbd};
use mirage_xen::sim::netback::add_vif;
use mirage_xen::xenbus::{XenbusDevice, XenbusError, XenbusState, list_devices};

use crate::setup;

#[test]
fn discovers_devices() {
    let (mut sim, host, _g, xen) = setup(60);
    let _a = add_vif(&host, 1, 0, "00:16:3e:00:00:01");
    let _b = add_vif(&host, 1, 3, "00:16:3e:00:00:02");
    let _c = add_vbd(&host, 1, 51712, vec![0; 4096], DiskConfig::default());
    sim.block_on(async {
        assert_eq!(list_devices(&xen, "vif").await.unwrap(), [0, 3]);
        assert_eq!(list_devices(&xen, "vbd").await.unwrap(), [51712]);
        assert!(list_devices(&xen, "vtpm").await.unwrap().is_empty());
        let dev = XenbusDevice::open(&xen, "vif", 3).await.unwrap();
        assert_eq!(dev.backend(), "/local/domain/0/backend/vif/1/3");
        assert_eq!(dev.backend_id(), 0);
        assert!(dev.backend_feature("feature-rx-copy").await.unwrap());
        assert!(dev.backend_feature("feature-sg").await.unwrap());
        assert!(!dev.backend_feature("feature-missing").await.unwrap());
        // The simulated netback moves to InitWait on its own.
        assert_eq!(
            dev.wait_backend(|s| s == XenbusState::InitWait)
                .await
                .unwrap(),
            XenbusState::InitWait
        );
    })
    .unwrap();
}

#[test]
fn states_and_backend_disappearance() {
    for v in 0..=8 {
        assert_eq!(XenbusState::from_u32(v).map(|s| s as u32), Some(v));
    }
    assert_eq!(XenbusState::from_u32(9), None);
    let (mut sim, host, _g, xen) = setup(61);
    let store = host.store().clone();
    // A device whose backend directory the toolstack removes.
    store.write(
        "/local/domain/1/device/vif/9/backend",
        b"/local/domain/0/backend/vif/1/9",
    );
    store.write("/local/domain/1/device/vif/9/backend-id", b"0");
    store.write("/local/domain/0/backend/vif/1/9/state", b"2");
    sim.block_on(async {
        let dev = XenbusDevice::open(&xen, "vif", 9).await.unwrap();
        assert_eq!(dev.backend_state().await.unwrap(), XenbusState::InitWait);
        store.rm("/local/domain/0/backend/vif/1/9");
        let r = dev.wait_backend(|s| s == XenbusState::Connected).await;
        assert!(matches!(
            r,
            Err(XenbusError::BackendGone {
                state: XenbusState::Closed,
                ..
            })
        ));
        store.write("/local/domain/0/backend/vif/1/9/state", b"banana");
        assert!(matches!(
            dev.backend_state().await,
            Err(XenbusError::BadValue { .. })
        ));
        // A device without a backend node is an error, not a panic.
        assert!(XenbusDevice::open(&xen, "vif", 10).await.is_err());
    })
    .unwrap();
}
