//! XenStore client against a hand-played daemon that misbehaves: every
//! broken reply is an error value, and nothing hangs or panics.

use std::rc::Rc;

use mirage_core::mem::Simulation;
use mirage_xen::abi::hvm::{HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN};
use mirage_xen::evtchn::EventChannels;
use mirage_xen::sim::host::wire_upcall;
use mirage_xen::sim::{SimDomain, SimXen};
use mirage_xen::xenstore::wire::{Header, Message, MsgType, WireError};
use mirage_xen::xenstore::{XenStore, XsError};
use mirage_xen::{Hypervisor, Page, Xen};

struct Rig {
    sim: Simulation,
    store: Rc<XenStore<SimDomain>>,
    page: Page,
    dom0: Rc<EventChannels<SimDomain>>,
    port: u32,
}

fn rig() -> Rig {
    let sim = Simulation::new(7);
    let xen = SimXen::new();
    let dom0 = xen.domain(0);
    let events = Rc::new(EventChannels::new(Rc::new(dom0.clone())).unwrap());
    wire_upcall(&dom0, &events);
    let guest = xen.domain(1);
    let page = Page::new();
    guest.set_param(HVM_PARAM_STORE_PFN, guest.add_page(&page));
    let gport = guest.evtchn_alloc_unbound(0).unwrap();
    let port = events.bind_interdomain(1, gport).unwrap();
    guest.set_param(HVM_PARAM_STORE_EVTCHN, u64::from(gport));
    let x = Xen::connect(guest.clone(), 1).unwrap();
    wire_upcall(&guest, x.events());
    Rig {
        sim,
        store: x.store().clone(),
        page,
        dom0: events,
        port,
    }
}

impl Rig {
    /// Takes what the client wrote to the request ring.
    fn requests(&self) -> Vec<Message> {
        let prod = self.page.read_u32(2052);
        let cons = self.page.read_u32(2048);
        let mut bytes = Vec::new();
        for i in cons..prod {
            bytes.push(self.page.read_u8((i & 1023) as usize));
        }
        self.page.write_u32(2048, prod);
        let mut d = mirage_xen::xenstore::wire::Decoder::new();
        d.push(&bytes);
        let mut out = Vec::new();
        while let Ok(Some(m)) = d.next_message() {
            out.push(m);
        }
        out
    }

    /// Puts raw bytes on the response ring and notifies.
    fn reply_raw(&self, bytes: &[u8]) {
        let prod = self.page.read_u32(2060);
        for (i, b) in bytes.iter().enumerate() {
            self.page.write_u8(1024 + ((prod as usize + i) & 1023), *b);
        }
        self.page.write_u32(2060, prod + bytes.len() as u32);
        self.dom0.notify(self.port).unwrap();
    }

    /// Runs a read against a daemon that answers with `answer(request)`.
    fn read_with(&mut self, answer: impl FnOnce(&Message) -> Vec<u8>) -> Result<Vec<u8>, XsError> {
        let store = self.store.clone();
        let task = self.sim.spawn(async move { store.read("some/key").await });
        let _ = self.sim.run_until_idle();
        let reqs = self.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].ty, MsgType::Read);
        assert_eq!(reqs[0].payload, b"some/key\0");
        self.reply_raw(&answer(&reqs[0]));
        self.sim.block_on(task).expect("the client must not hang")
    }
}

fn reply(req: &Message, ty: MsgType, payload: &[u8]) -> Vec<u8> {
    Message::new(ty, req.req_id, req.tx_id, payload.to_vec())
        .unwrap()
        .encode()
}

#[test]
fn good_reply_then_error_reply() {
    let mut r = rig();
    assert_eq!(
        r.read_with(|q| reply(q, MsgType::Read, b"v")),
        Ok(b"v".to_vec())
    );
    assert_eq!(
        r.read_with(|q| reply(q, MsgType::Error, b"ENOENT\0")),
        Err(XsError::Errno(mirage_xen::xenstore::Errno::ENOENT))
    );
    assert_eq!(
        r.read_with(|q| reply(q, MsgType::Error, b"EWHATEVER\0")),
        Err(XsError::Wire(WireError::UnknownErrno))
    );
    assert!(matches!(
        r.read_with(|q| reply(q, MsgType::Write, b"OK\0")),
        Err(XsError::UnexpectedReply { .. })
    ));
}

#[test]
fn oversized_reply_breaks_the_connection() {
    let mut r = rig();
    let got = r.read_with(|q| {
        Header {
            ty: MsgType::Read,
            req_id: q.req_id,
            tx_id: 0,
            len: 5000,
        }
        .emit()
        .to_vec()
    });
    assert_eq!(got, Err(XsError::Wire(WireError::TooLong(5000))));
    // Later requests fail at once.
    let store = r.store.clone();
    let later = r
        .sim
        .block_on(async move { store.write("a", b"b").await })
        .unwrap();
    assert_eq!(later, Err(XsError::Wire(WireError::TooLong(5000))));
}

#[test]
fn reply_to_unknown_request_breaks_the_connection() {
    let mut r = rig();
    let got = r.read_with(|q| {
        let mut q2 = q.clone();
        q2.req_id += 77;
        reply(&q2, MsgType::Read, b"x")
    });
    assert!(matches!(got, Err(XsError::UnknownReply(_))));
}

#[test]
fn unknown_message_type_breaks_the_connection() {
    let mut r = rig();
    let got = r.read_with(|q| {
        let mut b = reply(q, MsgType::Read, b"x");
        b[0] = 99;
        b
    });
    assert_eq!(got, Err(XsError::Wire(WireError::UnknownType(99))));
}

#[test]
fn corrupt_ring_index_is_an_error() {
    let mut r = rig();
    let store = r.store.clone();
    let task = r.sim.spawn(async move { store.read("k").await });
    let _ = r.sim.run_until_idle();
    r.page.write_u32(2060, 100_000);
    r.dom0.notify(r.port).unwrap();
    let got = r.sim.block_on(task).unwrap();
    assert!(matches!(
        got,
        Err(XsError::RingCorrupt {
            ring: "response",
            ..
        })
    ));
}

#[test]
fn watch_events_interleave_with_replies() {
    let mut r = rig();
    let store = r.store.clone();
    let task = r.sim.spawn(async move {
        store.watch("w", "tok").await.unwrap();
        let ev = store.next_watch_event("tok").await.unwrap();
        (ev.path, ev.token)
    });
    let _ = r.sim.run_until_idle();
    let reqs = r.requests();
    assert_eq!(reqs[0].ty, MsgType::Watch);
    assert_eq!(reqs[0].payload, b"w\0tok\0");
    // The event arrives before the OK, split across two notifications.
    let mut bytes = Message::new(MsgType::WatchEvent, 0, 0, b"w/x\0tok\0".to_vec())
        .unwrap()
        .encode();
    bytes.extend(reply(&reqs[0], MsgType::Watch, b"OK\0"));
    r.reply_raw(&bytes[..7]);
    let _ = r.sim.run_until_idle();
    r.reply_raw(&bytes[7..]);
    assert_eq!(
        r.sim.block_on(task).unwrap(),
        (String::from("w/x"), String::from("tok"))
    );
}
