//! The homepage appliance's mains: the same [`homepage::unikernel::start`]
//! applied to Unix devices (feature `unix`, the default) or, with feature
//! `xen` alone, built as a Xen PVH guest by `xen/build-image.sh homepage`.

#![cfg_attr(all(feature = "xen", not(feature = "unix")), no_main)]

#[cfg(not(any(feature = "unix", feature = "xen")))]
compile_error!("homepage needs a backend: feature `unix` (default) or `xen`");

#[cfg(feature = "unix")]
mod unix;
#[cfg(feature = "xen")]
mod xen;

#[cfg(feature = "unix")]
fn main() -> std::process::ExitCode {
    unix::main()
}

#[cfg(all(feature = "xen", not(feature = "unix")))]
mirage_xen_rt::entry!(xen::main);
