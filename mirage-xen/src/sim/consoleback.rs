//! A simulated console backend (xenconsoled's per-guest end): collects
//! what the guest writes and feeds it input.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::mem::offset_of;
use core::sync::atomic::Ordering;
use core::task::{Poll, Waker};

use super::SimDomain;
use super::host::SimHost;
use crate::abi::console::{IN_SIZE, OUT_SIZE, XENCONSOLE_DISCONNECTED, XenconsInterface};
use crate::abi::hvm::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN};
use crate::hypercall::{HypercallError, Hypervisor};
use crate::page::{Page, mb, wmb};

const IN: usize = offset_of!(XenconsInterface, input);
const OUT: usize = offset_of!(XenconsInterface, output);
const IN_CONS: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD: usize = offset_of!(XenconsInterface, out_prod);
const CONNECTION: usize = offset_of!(XenconsInterface, connection);

#[derive(Default)]
struct Shared {
    output: Vec<u8>,
    input: VecDeque<u8>,
    waker: Option<Waker>,
    paused: bool,
}

/// The test's handle on a guest's console backend.
#[derive(Clone)]
pub struct ConsoleBack {
    shared: Rc<RefCell<Shared>>,
    page: Page,
}

impl core::fmt::Debug for ConsoleBack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ConsoleBack")
    }
}

impl ConsoleBack {
    fn kick(&self) {
        if let Some(w) = self.shared.borrow_mut().waker.take() {
            w.wake();
        }
    }

    /// Everything the guest wrote so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.shared.borrow().output).into_owned()
    }

    /// Types `bytes` into the guest's console.
    pub fn type_input(&self, bytes: &[u8]) {
        self.shared.borrow_mut().input.extend(bytes.iter().copied());
        self.kick();
    }

    /// Stops (or resumes) draining the output ring.
    pub fn set_paused(&self, paused: bool) {
        self.shared.borrow_mut().paused = paused;
        self.kick();
    }

    /// Marks the console disconnected (`XENCONSOLE_DISCONNECTED`).
    pub fn disconnect(&self) {
        self.page.write_u8(CONNECTION, XENCONSOLE_DISCONNECTED);
        self.kick();
    }

    /// The shared ring page (for tests that corrupt it).
    pub fn page(&self) -> &Page {
        &self.page
    }
}

/// Gives `guest` a console page and port (in its HVM parameters) and
/// starts the backend.
pub fn add_console(host: &SimHost, guest: &SimDomain) -> Result<ConsoleBack, HypercallError> {
    let page = Page::new();
    let gfn = guest.add_page(&page);
    guest.set_param(HVM_PARAM_CONSOLE_PFN, gfn);
    let gport = guest.evtchn_alloc_unbound(0)?;
    let port = host.events().bind_interdomain(guest.domid(), gport)?;
    guest.set_param(HVM_PARAM_CONSOLE_EVTCHN, u64::from(gport));
    let back = ConsoleBack {
        shared: Rc::new(RefCell::new(Shared::default())),
        page: page.clone(),
    };
    let events = host.events().clone();
    let b = back.clone();
    host.spawn(async move {
        poll_fn(|cx| {
            events.register(port, cx.waker());
            b.shared.borrow_mut().waker = Some(cx.waker().clone());
            let mut moved = false;
            if !b.shared.borrow().paused {
                let prod = page.atomic_u32(OUT_PROD).load(Ordering::Acquire);
                let cons = page.read_u32(OUT_CONS);
                let avail = prod.wrapping_sub(cons).min(OUT_SIZE);
                for i in 0..avail {
                    let idx = cons.wrapping_add(i) & (OUT_SIZE - 1);
                    let byte = page.read_u8(OUT + idx as usize);
                    b.shared.borrow_mut().output.push(byte);
                }
                if avail > 0 {
                    mb();
                    page.atomic_u32(OUT_CONS)
                        .store(cons.wrapping_add(avail), Ordering::Release);
                    moved = true;
                }
            }
            let cons = page.atomic_u32(IN_CONS).load(Ordering::Acquire);
            let prod = page.read_u32(IN_PROD);
            let space = IN_SIZE.saturating_sub(prod.wrapping_sub(cons));
            let mut n = 0;
            {
                let mut s = b.shared.borrow_mut();
                while n < space {
                    let Some(byte) = s.input.pop_front() else {
                        break;
                    };
                    let idx = prod.wrapping_add(n) & (IN_SIZE - 1);
                    page.write_u8(IN + idx as usize, byte);
                    n += 1;
                }
            }
            if n > 0 {
                wmb();
                page.atomic_u32(IN_PROD)
                    .store(prod.wrapping_add(n), Ordering::Release);
                moved = true;
            }
            if moved || page.read_u8(CONNECTION) == XENCONSOLE_DISCONNECTED {
                let _ = events.notify(port);
            }
            Poll::<()>::Pending
        })
        .await
    });
    Ok(back)
}
