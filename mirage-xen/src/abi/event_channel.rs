//! `event_channel.h`: event-channel operations.

use super::layout;

/// `EVTCHNOP_bind_interdomain`.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// `EVTCHNOP_close`.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// `EVTCHNOP_send`.
pub const EVTCHNOP_SEND: u32 = 4;
/// `EVTCHNOP_alloc_unbound`.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// `EVTCHNOP_unmask`.
pub const EVTCHNOP_UNMASK: u32 = 9;

/// `struct evtchn_alloc_unbound`: a port that `remote_dom` may bind to.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct EvtchnAllocUnbound {
    /// Allocating domain (`DOMID_SELF`).
    pub dom: u16,
    /// The domain allowed to bind.
    pub remote_dom: u16,
    /// The new port (out).
    pub port: u32,
}
layout!(EvtchnAllocUnbound, 8, dom @ 0, remote_dom @ 2, port @ 4);

/// `struct evtchn_bind_interdomain`: connect to a remote unbound port.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct EvtchnBindInterdomain {
    /// Remote domain.
    pub remote_dom: u16,
    /// Its unbound port.
    pub remote_port: u32,
    /// Our new port (out).
    pub local_port: u32,
}
layout!(EvtchnBindInterdomain, 12, remote_dom @ 0, remote_port @ 4, local_port @ 8);

/// `struct evtchn_send`, also `evtchn_close` and `evtchn_unmask`: one port.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct EvtchnPort {
    /// The port.
    pub port: u32,
}
layout!(EvtchnPort, 4, port @ 0);
