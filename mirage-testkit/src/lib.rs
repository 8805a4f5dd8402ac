#![doc = include_str!("../README.md")]

pub mod dns;
pub mod git;
pub mod netns;
pub mod peers;
pub mod ports;
pub mod process;
pub mod runtime;
pub mod tmp;
pub mod tools;
