//! The TAP device against the Linux kernel, in a network namespace made here.
//! Needs root (CAP_NET_ADMIN) and `ip` (iproute2); skips otherwise.

use std::net::Ipv4Addr;
use std::time::Duration;

use mirage_core::network::{recv_frame, send_frame};
use mirage_core::{Capabilities, MacAddress, Network};
use mirage_testkit::netns::{self, TapNamespace, ip, link_exists};
use mirage_unix::Tap;
use mirage_unix::tap::TapError;

use crate::block_on;

const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 7, 1);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 7, 2);

/// The tests here run one at a time: a descriptor inherited for a moment
/// by a process another test spawns would keep a device alive.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The MAC that `ip` reports for `dev` (in namespace `ns`, if given).
fn ip_mac(ns: Option<&str>, dev: &str) -> MacAddress {
    let out = match ns {
        Some(ns) => ip(&["-n", ns, "-o", "link", "show", dev]),
        None => ip(&["-o", "link", "show", dev]),
    };
    let hex = out
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("a link/ether address");
    let mut mac = [0u8; 6];
    for (b, h) in mac.iter_mut().zip(hex.split(':')) {
        *b = u8::from_str_radix(h, 16).unwrap();
    }
    MacAddress(mac)
}

async fn wait(tap: &mut Tap, buf: &mut [u8]) -> usize {
    tokio::time::timeout(Duration::from_secs(10), recv_frame(tap, buf))
        .await
        .expect("a frame within 10 s")
}

fn arp_reply(ours: MacAddress, to_mac: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&to_mac);
    f.extend_from_slice(&ours.0);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&ours.0);
    f.extend_from_slice(&OUR_IP.octets());
    f.extend_from_slice(&to_mac);
    f.extend_from_slice(&HOST_IP.octets());
    f
}

#[test]
fn frames_flow_between_linux_and_a_tap_device() {
    if let Some(why) = netns::unsupported() {
        println!("SKIP: {why}");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Removes the namespace and device however the test ends.
    let guard = TapNamespace::named("mirage-tap", "mtap");
    let (ns, dev) = (guard.ns.clone(), guard.dev.clone());
    let (ns, dev) = (ns.as_str(), dev.as_str());
    guard.add_tap();
    let host_mac = ip_mac(None, dev);
    block_on(async {
        let mut tap = Tap::open(dev).expect("attach to the TAP device");
        assert_eq!(tap.host_mac(), host_mac, "MAC read from the device");
        assert_ne!(
            tap.mac_address(),
            host_mac,
            "the appliance is another station"
        );
        assert_eq!(tap.capabilities().mtu, 1500);
        assert!(
            matches!(Tap::open(dev), Err(TapError::Busy(_))),
            "a second attachment is refused as busy"
        );

        // Move the host side into a namespace of its own and address it.
        guard.move_host_side(&format!("{HOST_IP}/24"));
        // A datagram to our address makes Linux ask for our MAC.
        let mut send = guard
            .exec(&["bash", "-c"])
            .arg(format!(
                "for i in 1 2 3 4 5; do echo hi > /dev/udp/{OUR_IP}/9; sleep 1; done"
            ))
            .spawn()
            .expect("bash in the namespace");

        let mut buf = [0u8; 2048];
        // Find the ARP request (IPv6 neighbour discovery may come first).
        let requester = loop {
            let n = wait(&mut tap, &mut buf).await;
            let f = &buf[..n];
            if n >= 42 && f[12..14] == [0x08, 0x06] && f[20..22] == [0, 1] {
                assert_eq!(&f[28..32], &HOST_IP.octets(), "sender IP");
                assert_eq!(&f[38..42], &OUR_IP.octets(), "target IP");
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&f[6..12]);
                break mac;
            }
        };
        assert_eq!(MacAddress(requester), host_mac);
        // Answer it; Linux then sends the datagram to us.
        let ours = tap.mac_address();
        send_frame(&mut tap, &arp_reply(ours, requester)).await;
        loop {
            let n = wait(&mut tap, &mut buf).await;
            let f = &buf[..n];
            if n >= 42 && f[12..14] == [0x08, 0x00] && f[23] == 17 {
                assert_eq!(&f[0..6], &ours.0, "addressed to the MAC we announced");
                assert_eq!(&f[30..34], &OUR_IP.octets());
                assert_eq!(&f[36..38], &9u16.to_be_bytes(), "UDP port 9");
                assert_eq!(&f[42..n], b"hi\n");
                break;
            }
        }
        let neigh = guard.ip(&["neigh", "show", &OUR_IP.to_string()]);
        assert!(
            neigh.contains(&ours.to_string()),
            "Linux learnt our MAC: {neigh}"
        );
        let c = tap.counters();
        assert!(c.rx_packets >= 2 && c.tx_packets == 1, "{c:?}");
        // A frame longer than the MTU allows is dropped and counted.
        send_frame(
            &mut tap,
            &vec![0u8; 1500 + Capabilities::ETHERNET_HEADER_LEN + 1],
        )
        .await;
        assert_eq!(tap.counters().tx_dropped, 1);
        let _ = send.kill();
        let _ = send.wait();
    });
    drop(guard);
    assert!(!link_exists(dev), "the device is gone");
    assert!(!netns::namespace_exists(ns), "the namespace is gone");
}

#[test]
fn a_missing_device_is_created_and_vanishes_with_its_last_user() {
    if let Some(why) = netns::unsupported() {
        println!("SKIP: {why}");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = TapNamespace::named("mirage-tapc", "mtapc");
    let dev = guard.dev.clone();
    block_on(async {
        let tap = Tap::open(&dev).expect("create a TAP device");
        assert!(link_exists(&dev));
        assert_eq!(tap.host_mac(), ip_mac(None, &dev));
        assert_eq!(tap.name(), dev);
    });
    assert!(
        !link_exists(&dev),
        "a device made by Tap::open goes with it"
    );
    drop(guard);
}

#[test]
fn bad_names_and_a_missing_runtime_are_refused() {
    assert!(matches!(Tap::open("tap0"), Err(TapError::NoRuntime)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _g = rt.enter();
    for name in ["", "a/b", "averyveryverylongname", "tap 0"] {
        assert!(
            matches!(Tap::open(name), Err(TapError::BadName(_))),
            "{name:?}"
        );
    }
}
