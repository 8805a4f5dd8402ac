#![doc = include_str!("../README.md")]

pub mod client;
pub mod server;
pub mod tsig;
pub mod wire;
pub mod zone;
