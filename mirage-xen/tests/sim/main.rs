//! End-to-end tests of the frontends against the simulated Xen.

mod blkfront;
mod console;
mod evtchn;
mod grant;
mod netfront;
mod stack;
mod xenbus;
mod xenstore;
mod xenstore_robust;

use mirage_core::mem::Simulation;
use mirage_xen::Xen;
use mirage_xen::sim::SimDomain;
use mirage_xen::sim::host::SimHost;

/// A simulation with dom0 and guest 1 connected to XenStore.
pub fn setup(seed: u64) -> (Simulation, SimHost, SimDomain, Xen<SimDomain>) {
    let sim = Simulation::new(seed);
    let spawner = sim.spawner();
    let host = SimHost::new(move |task| {
        spawner.spawn(task);
    })
    .expect("dom0");
    let guest = host.create_guest(1).expect("guest");
    let xen = host.connect_guest(&guest).expect("connect");
    (sim, host, guest, xen)
}

/// Lets every other task run once.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}
