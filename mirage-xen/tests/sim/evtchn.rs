use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use mirage_xen::Hypervisor;
use mirage_xen::evtchn::EventChannels;
use mirage_xen::sim::host::wire_upcall;

use crate::setup;

#[test]
fn events_wake_the_waiting_port_only() {
    let (mut sim, host, guest, xen) = setup(10);
    let events = xen.events().clone();
    let dom0 = host.events().clone();
    let p1 = events.alloc_unbound(0).unwrap();
    let p2 = events.alloc_unbound(0).unwrap();
    let d1 = dom0.bind_interdomain(1, p1).unwrap();
    let d2 = dom0.bind_interdomain(1, p2).unwrap();
    assert_ne!(p1, p2);
    let hits = Rc::new(Cell::new(0));
    let h2 = hits.clone();
    let ev2 = events.clone();
    let waiter = sim.spawn(async move {
        poll_fn(|cx| {
            ev2.register(p1, cx.waker());
            if h2.get() == 0 {
                h2.set(1);
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    });
    sim.run_until_idle().err(); // the waiter sleeps
    assert!(!waiter.is_finished());
    dom0.notify(d2).unwrap();
    let _ = sim.run_for(std::time::Duration::from_millis(1));
    assert!(!waiter.is_finished());
    dom0.notify(d1).unwrap();
    sim.block_on(waiter).unwrap();
    assert!(events.delivered() >= 2);
    // Masked-then-unmasked ports re-deliver; closed ports refuse sends.
    let _ = guest;
    dom0.close(d1).unwrap();
    assert!(dom0.notify(d1).is_err());
}

#[test]
fn bind_checks_the_remote_end() {
    let (_sim, host, guest, _xen) = setup(11);
    let p = guest.evtchn_alloc_unbound(5).unwrap();
    // Dom0 is not the domain the port was offered to.
    assert!(host.dom0().evtchn_bind_interdomain(1, p).is_err());
    assert!(host.dom0().evtchn_bind_interdomain(1, 999).is_err());
    assert!(host.dom0().evtchn_bind_interdomain(77, 1).is_err());
}

#[test]
fn pending_while_unwired_is_delivered_on_upcall() {
    let (_sim, host, guest, _xen) = setup(12);
    let hv = Rc::new(guest.clone());
    let events = Rc::new(EventChannels::new(hv).unwrap());
    let p = events.alloc_unbound(0).unwrap();
    let d = host.events().bind_interdomain(1, p).unwrap();
    guest.set_upcall(Rc::new(|| {}));
    host.events().notify(d).unwrap();
    assert!(events.is_pending(p));
    wire_upcall(&guest, &events);
    assert_eq!(events.handle_upcall(), 1);
    assert!(!events.is_pending(p));
}

#[test]
fn masked_ports_deliver_on_unmask() {
    let (_sim, host, guest, xen) = setup(13);
    let events = xen.events().clone();
    let p = events.alloc_unbound(0).unwrap();
    let d = host.events().bind_interdomain(1, p).unwrap();
    // Mask the port in shared_info (evtchn_mask starts at byte 2560).
    let word = 2560 + (p as usize / 64) * 8;
    events
        .shared_info()
        .atomic_u64(word)
        .fetch_or(1 << (p % 64), std::sync::atomic::Ordering::SeqCst);
    let before = events.delivered();
    host.events().notify(d).unwrap();
    assert!(events.is_pending(p));
    assert_eq!(events.handle_upcall(), 0);
    assert_eq!(events.delivered(), before);
    // Unmasking re-raises the pending port and the upcall delivers it.
    guest.evtchn_unmask(p).unwrap();
    assert_eq!(events.delivered(), before + 1);
    assert!(!events.is_pending(p));
}
