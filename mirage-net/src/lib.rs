#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

mod config;
mod counters;
mod device;
mod loopback;
mod runner;
mod stack;
mod tcp;
mod udp;

pub use config::{
    Config, ConfigError, CongestionControl, Ipv4Config, Ipv6Config, StaticIpv4, StaticIpv6,
    TcpOptions, UdpOptions,
};
pub use counters::Counters;
pub use runner::Runner;
pub use smoltcp::socket::tcp::State as TcpState;
pub use stack::{Ipv4Info, Stack};
pub use tcp::{TcpFlow, TcpListener};
pub use udp::UdpSocket;
