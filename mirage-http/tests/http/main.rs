//! Integration tests; modules mirror `src/`.

mod client;
mod parse;
mod server;
mod site;
