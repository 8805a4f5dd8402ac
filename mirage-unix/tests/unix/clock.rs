use mirage_core::conformance;
use mirage_unix::{OsRandom, SystemClock};

use crate::block_on;

#[test]
fn system_clock_meets_the_contract() {
    block_on(async {
        conformance::time(&SystemClock::new()).await;
        conformance::wall_clock(&SystemClock::new()).await;
    });
}

#[test]
fn os_random_meets_the_contract() {
    conformance::random(&OsRandom::new().unwrap());
}
