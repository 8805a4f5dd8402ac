use std::time::Duration;

use futures::future::join;
use mirage_core::console::{Console, ConsoleError};
use mirage_xen::XenConsole;
use mirage_xen::sim::consoleback::add_console;

use crate::{setup, yield_now};

#[test]
fn lines_out_and_in() {
    let (mut sim, host, guest, xen) = setup(40);
    let back = add_console(&host, &guest).unwrap();
    let con = XenConsole::connect(&xen).unwrap();
    let b2 = back.clone();
    sim.block_on(async {
        con.write_line("hello from the guest").await.unwrap();
        b2.type_input(b"first\nsecond\r\n");
        assert_eq!(con.read_line().await.unwrap().as_deref(), Some("first"));
        assert_eq!(con.read_line().await.unwrap().as_deref(), Some("second"));
        b2.type_input(b"\xff\xfe\n");
        assert!(matches!(
            con.read_line().await,
            Err(ConsoleError::InvalidUtf8)
        ));
        b2.type_input(&vec![b'x'; 5000]);
        b2.type_input(b"\nafter\n");
        assert!(matches!(
            con.read_line().await,
            Err(ConsoleError::LineTooLong(4096))
        ));
        // The rest of the long line is dropped with it or on the next read.
        let mut next = con.read_line().await;
        if matches!(next, Err(ConsoleError::LineTooLong(_))) {
            next = con.read_line().await;
        }
        assert_eq!(next.unwrap().as_deref(), Some("after"));
    })
    .unwrap();
    let _ = sim.run_for(Duration::from_millis(1));
    assert_eq!(back.output(), "hello from the guest\n");
}

#[test]
fn output_larger_than_the_ring_waits_for_the_backend() {
    let (mut sim, host, guest, xen) = setup(41);
    let back = add_console(&host, &guest).unwrap();
    let con = XenConsole::connect(&xen).unwrap();
    back.set_paused(true);
    let text: String = (0..400).map(|i| format!("line {i:04}\n")).collect();
    let b2 = back.clone();
    sim.block_on(async {
        let write = con.write_bytes(text.as_bytes());
        let unpause = async {
            // Let the writer fill the 2 KiB ring first.
            for _ in 0..20 {
                yield_now().await;
            }
            assert!(b2.output().is_empty());
            b2.set_paused(false);
        };
        let (r, ()) = join(write, unpause).await;
        r.unwrap();
    })
    .unwrap();
    let _ = sim.run_for(Duration::from_millis(1));
    assert_eq!(back.output(), text);
}

#[test]
fn disconnect_ends_input_and_refuses_output() {
    let (mut sim, host, guest, xen) = setup(42);
    let back = add_console(&host, &guest).unwrap();
    let con = XenConsole::connect(&xen).unwrap();
    let b2 = back.clone();
    sim.block_on(async {
        b2.type_input(b"tail-without-newline");
        for _ in 0..5 {
            yield_now().await;
        }
        b2.disconnect();
        assert_eq!(
            con.read_line().await.unwrap().as_deref(),
            Some("tail-without-newline")
        );
        assert_eq!(con.read_line().await.unwrap(), None);
        assert!(matches!(
            con.write_line("x").await,
            Err(ConsoleError::Disconnected)
        ));
    })
    .unwrap();
}

#[test]
fn corrupt_indices_are_an_error() {
    let (mut sim, host, guest, xen) = setup(43);
    let back = add_console(&host, &guest).unwrap();
    let con = XenConsole::connect(&xen).unwrap();
    // in_prod far ahead of in_cons.
    back.page().write_u32(3076, 50_000);
    sim.block_on(async {
        assert!(matches!(
            con.read_line().await,
            Err(ConsoleError::Disconnected)
        ));
    })
    .unwrap();
}
