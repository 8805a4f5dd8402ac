//! The response head of mirage-git's smart-HTTP client
//! (`transport::http::parse_head`), as a remote server sends it: any bytes
//! give a head or an error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_git::transport::http::parse_head;

fuzz_target!(|data: &[u8]| {
    let _ = parse_head(data);
});
