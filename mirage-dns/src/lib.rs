#![doc = include_str!("../README.md")]

pub mod server;
pub mod tsig;
pub mod wire;
pub mod zone;
