//! `xen-hello`: the unikernel in [`unikernel`] applied to Unix devices (the
//! default) or, with the `xen` feature, built as a PVH guest image by
//! `xen/build-image.sh xen-hello`.

#![cfg_attr(feature = "xen", no_std, no_main)]

extern crate alloc;

mod unikernel;

#[cfg(feature = "xen")]
mirage_xen_rt::entry!(xen_main);

/// The Xen `main`: the runtime's devices, the same `start`.
#[cfg(feature = "xen")]
fn xen_main(boot: mirage_xen_rt::Boot) -> ! {
    mirage_xen_rt::run(boot, |devices| {
        unikernel::start(devices.console(), devices.clock())
    })
}

/// The Unix `main`.
#[cfg(all(feature = "unix", not(feature = "xen")))]
fn main() -> std::process::ExitCode {
    mirage_unix::run(|devices| unikernel::start(devices.console(), devices.clock()))
}

#[cfg(not(any(feature = "unix", feature = "xen")))]
compile_error!("enable the `unix` feature (a process) or the `xen` feature (a PVH image)");
