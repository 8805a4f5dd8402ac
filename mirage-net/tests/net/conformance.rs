//! The mirage-core contract suite for `Stack`, on one stack talking to
//! itself over IPv4 and IPv6 (through the runner's loopback).

use std::net::IpAddr;

use mirage_core::mem::{LinkConfig, Simulation, Switch};
use mirage_net::{Stack, TcpOptions};

use crate::harness::{A4, A6, config};

fn single(seed: u64) -> (Simulation, Stack) {
    let sim = Simulation::new(seed);
    let switch = Switch::new(sim.clock(), seed, LinkConfig::default());
    let (stack, runner) = Stack::new(
        switch.attach(),
        sim.clock(),
        sim.random(),
        config(A4, A6, TcpOptions::default()),
    )
    .unwrap();
    sim.spawn(runner.run());
    (sim, stack)
}

#[test]
fn stack_contract_over_ipv4() {
    let (mut sim, stack) = single(60);
    sim.block_on(mirage_core::conformance::stack(&stack, IpAddr::V4(A4)))
        .unwrap();
    assert!(stack.counters().frames_looped > 0);
}

#[test]
fn stack_contract_over_ipv6() {
    let (mut sim, stack) = single(61);
    sim.block_on(mirage_core::conformance::stack(&stack, IpAddr::V6(A6)))
        .unwrap();
}
