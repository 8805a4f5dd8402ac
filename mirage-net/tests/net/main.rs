//! Simulation tests: stacks on mirage-core `mem` devices (a seeded lossy
//! virtual switch, virtual time), one module per part of the stack.

mod config;
mod conformance;
mod determinism;
mod dhcp;
mod harness;
mod icmp;
mod tcp;
mod udp;
