//! The recording device sees every frame, and the capture is a valid pcap.

use custom_backend::{capture_homepage, pcap_records};

#[test]
fn the_capture_holds_the_whole_conversation() {
    let run = capture_homepage(3);
    assert_eq!(run.dns_answer, ["example.org. 3600 IN A 127.0.0.1"]);
    assert_eq!(run.http_status, "HTTP/1.1 200 OK");
    assert_eq!(&run.pcap[..4], &0xa1b2_c3d4u32.to_le_bytes(), "pcap magic");
    let frames = pcap_records(&run.pcap);
    let ethertype = |f: &[u8]| u16::from_be_bytes([f[12], f[13]]);
    assert!(
        frames.iter().any(|f| ethertype(f) == 0x0806),
        "ARP was recorded"
    );
    let ipv4: Vec<&[u8]> = frames
        .iter()
        .copied()
        .filter(|f| ethertype(f) == 0x0800)
        .collect();
    let proto = |f: &[u8]| f[14 + 9];
    let port = |f: &[u8], off: usize| u16::from_be_bytes([f[14 + 20 + off], f[14 + 20 + off + 1]]);
    assert!(
        ipv4.iter().any(|f| proto(f) == 17 && port(f, 2) == 53),
        "the DNS query was recorded"
    );
    assert!(
        ipv4.iter().any(|f| proto(f) == 17 && port(f, 0) == 53),
        "the DNS answer was recorded"
    );
    let http = ipv4
        .iter()
        .filter(|f| proto(f) == 6 && (port(f, 0) == 80 || port(f, 2) == 80));
    assert!(
        http.count() >= 6,
        "the TCP handshake, request, response and close were recorded"
    );
    let text: Vec<u8> = frames.concat();
    let find = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"GET / HTTP/1.1"), "the request is in the capture");
    assert!(
        find(b"Hello from a unikernel"),
        "the page is in the capture"
    );
    assert_eq!(
        run.pcap,
        capture_homepage(3).pcap,
        "the same seed, the same capture"
    );
}
