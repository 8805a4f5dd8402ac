use mirage_xen::abi::grant_table::{GNTST_PERMISSION_DENIED, GTF_READING, GTF_WRITING};
use mirage_xen::grant::GrantError;
use mirage_xen::{HypercallError, Page};

use crate::setup;

#[test]
fn backend_maps_what_was_granted() {
    let (_sim, host, _g, xen) = setup(70);
    let page = Page::new();
    let r = xen.grant_page(0, &page, false).unwrap();
    let map = host.dom0().map_grant(1, r, false).unwrap();
    map.page().write_bytes(0, b"from dom0");
    let mut b = [0u8; 9];
    page.read_bytes(0, &mut b);
    assert_eq!(&b, b"from dom0");
    let flags = xen.grants().entry(r).unwrap().flags;
    assert_eq!(
        flags & (GTF_READING | GTF_WRITING),
        GTF_READING | GTF_WRITING
    );
    // Revocation waits for the unmap.
    assert_eq!(xen.grants().end_access(r), Err(GrantError::InUse(r)));
    drop(map);
    assert_eq!(xen.grants().end_access(r), Ok(()));
    assert_eq!(
        host.dom0().map_grant(1, r, true).err(),
        Some(HypercallError::GrantStatus(GNTST_PERMISSION_DENIED))
    );
}

#[test]
fn read_only_and_wrong_domain_are_refused() {
    let (_sim, host, _g, xen) = setup(71);
    let page = Page::new();
    page.write_bytes(0, b"ro");
    let r = xen.grant_page(0, &page, true).unwrap();
    assert_eq!(
        host.dom0().map_grant(1, r, false).err(),
        Some(HypercallError::GrantStatus(GNTST_PERMISSION_DENIED))
    );
    let mut b = [0u8; 2];
    host.dom0().copy_from_grant(1, r, 0, &mut b).unwrap();
    assert_eq!(&b, b"ro");
    assert!(host.dom0().copy_to_grant(1, r, 0, b"no").is_err());
    assert!(host.dom0().copy_from_grant(1, r, 4095, &mut b).is_err());
    // Granted to domain 5, not dom0.
    let other = xen.grant_page(5, &page, false).unwrap();
    assert!(host.dom0().map_grant(1, other, true).is_err());
    // Two readers: the reading bit stays until both unmap.
    let m1 = host.dom0().map_grant(1, r, true).unwrap();
    let m2 = host.dom0().map_grant(1, r, true).unwrap();
    drop(m1);
    assert_eq!(xen.grants().end_access(r), Err(GrantError::InUse(r)));
    drop(m2);
    assert_eq!(xen.grants().end_access(r), Ok(()));
}
