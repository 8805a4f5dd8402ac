//! `hvm/hvm_op.h`, `hvm/params.h`: HVM parameters.

use super::layout;

/// `HVMOP_set_param`.
pub const HVMOP_SET_PARAM: u32 = 0;
/// `HVMOP_get_param`.
pub const HVMOP_GET_PARAM: u32 = 1;

/// `HVM_PARAM_CALLBACK_IRQ`: how event upcalls are delivered.
pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
/// `HVM_PARAM_STORE_PFN`: frame of the XenStore ring page.
pub const HVM_PARAM_STORE_PFN: u32 = 1;
/// `HVM_PARAM_STORE_EVTCHN`: port for XenStore.
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
/// `HVM_PARAM_CONSOLE_PFN`: frame of the console ring page.
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
/// `HVM_PARAM_CONSOLE_EVTCHN`: port for the console.
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;

/// `struct xen_hvm_param`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct XenHvmParam {
    /// Domain (`DOMID_SELF`).
    pub domid: u16,
    /// Padding.
    pub pad: u16,
    /// `HVM_PARAM_*`.
    pub index: u32,
    /// The value (in for set, out for get).
    pub value: u64,
}
layout!(XenHvmParam, 16, domid @ 0, index @ 4, value @ 8);
