//! [`XenConsole`]: the guest's primary console (`io/console.h`) as a
//! mirage-core [`Console`].
//!
//! One page holds an input ring (1 KiB, backend to guest) and an output
//! ring (2 KiB, guest to backend) with free-running `u32` indices, plus a
//! `connection` flag; the toolstack names the page and event channel in
//! `HVM_PARAM_CONSOLE_PFN`/`_EVTCHN`. Indices the backend publishes are
//! checked: a producer further ahead than the ring is a disconnected
//! console, not a panic.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::mem::offset_of;
use core::sync::atomic::Ordering;
use core::task::Poll;

use mirage_core::console::{Console, ConsoleError};

use crate::abi::Port;
use crate::abi::console::{IN_SIZE, OUT_SIZE, XENCONSOLE_DISCONNECTED, XenconsInterface};
use crate::abi::hvm::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN};
use crate::evtchn::EventChannels;
use crate::guest::{ConnectError, Xen};
use crate::hypercall::Hypervisor;
use crate::page::{Page, mb, wmb};

const IN: usize = offset_of!(XenconsInterface, input);
const OUT: usize = offset_of!(XenconsInterface, output);
const IN_CONS: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD: usize = offset_of!(XenconsInterface, out_prod);
const CONNECTION: usize = offset_of!(XenconsInterface, connection);

/// The longest input line [`Console::read_line`] accepts.
pub const MAX_LINE: usize = 4096;

#[derive(Default)]
struct State {
    input: VecDeque<u8>,
    broken: bool,
}

/// The Xen console.
pub struct XenConsole<H> {
    events: Rc<EventChannels<H>>,
    page: Page,
    port: Port,
    state: RefCell<State>,
}

impl<H> core::fmt::Debug for XenConsole<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XenConsole")
            .field("port", &self.port)
            .finish()
    }
}

impl<H: Hypervisor> XenConsole<H> {
    /// The console the toolstack set up (`HVM_PARAM_CONSOLE_PFN`/`_EVTCHN`).
    pub fn connect(xen: &Xen<H>) -> Result<Self, ConnectError> {
        let hv = xen.hypervisor();
        let pfn = hv.hvm_get_param(HVM_PARAM_CONSOLE_PFN)?;
        let port = u32::try_from(hv.hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN)?)
            .map_err(|_| ConnectError::BadStoreParams)?;
        let page = hv.page_at(pfn)?;
        Ok(Self::new(xen.events().clone(), page, port)?)
    }

    /// A console on ring `page` and the connected `port`.
    pub fn new(
        events: Rc<EventChannels<H>>,
        page: Page,
        port: Port,
    ) -> Result<Self, crate::HypercallError> {
        events.bind_existing(port)?;
        Ok(XenConsole {
            events,
            page,
            port,
            state: RefCell::new(State::default()),
        })
    }

    fn disconnected(&self) -> bool {
        self.page.read_u8(CONNECTION) == XENCONSOLE_DISCONNECTED
    }

    /// Writes raw bytes, waiting for ring space.
    pub async fn write_bytes(&self, mut data: &[u8]) -> Result<(), ConsoleError> {
        while !data.is_empty() {
            let n = poll_fn(|cx| {
                self.events.register(self.port, cx.waker());
                if self.state.borrow().broken || self.disconnected() {
                    return Poll::Ready(Err(ConsoleError::Disconnected));
                }
                let cons = self.page.atomic_u32(OUT_CONS).load(Ordering::Acquire);
                let prod = self.page.read_u32(OUT_PROD);
                let used = prod.wrapping_sub(cons);
                if used > OUT_SIZE {
                    self.state.borrow_mut().broken = true;
                    return Poll::Ready(Err(ConsoleError::Disconnected));
                }
                let n = ((OUT_SIZE - used) as usize).min(data.len());
                if n == 0 {
                    return Poll::Pending;
                }
                for (i, b) in data[..n].iter().enumerate() {
                    let idx = prod.wrapping_add(i as u32) & (OUT_SIZE - 1);
                    self.page.write_u8(OUT + idx as usize, *b);
                }
                wmb();
                self.page
                    .atomic_u32(OUT_PROD)
                    .store(prod.wrapping_add(n as u32), Ordering::Release);
                Poll::Ready(Ok(n))
            })
            .await?;
            self.events
                .notify(self.port)
                .map_err(|_| ConsoleError::Disconnected)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Moves available input into the line buffer; whether any arrived.
    fn pull_input(&self) -> Result<bool, ConsoleError> {
        let prod = self.page.atomic_u32(IN_PROD).load(Ordering::Acquire);
        let cons = self.page.read_u32(IN_CONS);
        let avail = prod.wrapping_sub(cons);
        if avail > IN_SIZE {
            self.state.borrow_mut().broken = true;
            return Err(ConsoleError::Disconnected);
        }
        if avail == 0 {
            return Ok(false);
        }
        let mut st = self.state.borrow_mut();
        for i in 0..avail {
            let idx = cons.wrapping_add(i) & (IN_SIZE - 1);
            st.input.push_back(self.page.read_u8(IN + idx as usize));
        }
        mb();
        self.page.atomic_u32(IN_CONS).store(prod, Ordering::Release);
        drop(st);
        self.events
            .notify(self.port)
            .map_err(|_| ConsoleError::Disconnected)?;
        Ok(true)
    }
}

impl<H: Hypervisor> Console for XenConsole<H> {
    async fn write_line(&self, line: &str) -> Result<(), ConsoleError> {
        self.write_bytes(line.as_bytes()).await?;
        self.write_bytes(b"\n").await
    }

    async fn read_line(&self) -> Result<Option<String>, ConsoleError> {
        let bytes: Option<Vec<u8>> = poll_fn(|cx| {
            self.events.register(self.port, cx.waker());
            if self.state.borrow().broken {
                return Poll::Ready(Err(ConsoleError::Disconnected));
            }
            let pulled = self.pull_input();
            let mut st = self.state.borrow_mut();
            if let Some(pos) = st.input.iter().position(|&b| b == b'\n') {
                if pos > MAX_LINE {
                    st.input.drain(..=pos);
                    return Poll::Ready(Err(ConsoleError::LineTooLong(MAX_LINE)));
                }
                let mut line: Vec<u8> = st.input.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Poll::Ready(Ok(Some(line)));
            }
            if st.input.len() > MAX_LINE {
                st.input.clear();
                return Poll::Ready(Err(ConsoleError::LineTooLong(MAX_LINE)));
            }
            if let Err(e) = pulled {
                return Poll::Ready(Err(e));
            }
            if self.disconnected() {
                // End of input: a last unterminated line, then none.
                if st.input.is_empty() {
                    return Poll::Ready(Ok(None));
                }
                return Poll::Ready(Ok(Some(st.input.drain(..).collect())));
            }
            if matches!(pulled, Ok(true)) {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await?;
        match bytes {
            None => Ok(None),
            Some(b) => String::from_utf8(b)
                .map(Some)
                .map_err(|_| ConsoleError::InvalidUtf8),
        }
    }
}
