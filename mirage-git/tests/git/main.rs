//! Integration tests: property tests of the codecs, a scripted server on
//! the in-memory internet, and interoperability with the real `git` over
//! `git://`, smart HTTP and `file://` on 127.0.0.1.

mod common;
mod interop;
mod pack;
mod parsers;
mod pktline;
mod scripted;
mod scripted_push;
mod transcripts;
