//! Integration tests for mirage-dns; the modules mirror `src/`.

mod arbitrary;
mod common;
mod primary;
mod server;
mod sim;
mod tsig;
mod wire;
mod zone;
