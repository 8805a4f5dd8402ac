//! The access log (a binary of its own: it installs the global logger).

#[path = "http/client.rs"]
mod client;

use client::{Echo, LOG, Reader, capture_log, exchange, run, server_addr};
use mirage_core::{Stack, TcpFlow};
use mirage_http::Config;

#[test]
fn smuggled_request_after_conflicting_framing_is_never_served() {
    capture_log();
    run(Echo, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        flow.write_all(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
              0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .await
        .unwrap();
        let mut r = Reader::new();
        assert_eq!(r.response(&mut flow, false).await.unwrap().status, 400);
        assert!(r.closed(&mut flow).await);
    });
    LOG.with(|l| {
        let l = l.borrow();
        assert_eq!(l.len(), 1, "{l:?}");
        assert!(l[0].contains("\"-\" 400"), "{}", l[0]);
    });
}

#[test]
fn access_log_has_one_common_log_line_per_request() {
    capture_log();
    run(Echo, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        exchange(&mut flow, b"GET /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n").await;
        exchange(
            &mut flow,
            b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        )
        .await;
    });
    LOG.with(|l| {
        let l = l.borrow();
        assert_eq!(l.len(), 2);
        assert!(
            l[0].starts_with(
                "10.0.0.2 - - [14/Nov/2023:22:13:20 +0000] \"GET /x?y=1 HTTP/1.1\" 200 -"
            ),
            "{}",
            l[0]
        );
        assert!(l[1].ends_with("\"POST /p HTTP/1.1\" 200 3"), "{}", l[1]);
    });
}
