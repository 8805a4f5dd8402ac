//! The server on mirage-core's in-memory internet, in virtual time.

use core::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::{join, join3};
use mirage_core::{MonotonicClock, Stack, TcpFlow, Time, WallClock};
use mirage_http::date::imf_fixdate;
use mirage_http::{Body, BodyError, Config, Handler, Request, Response};

use crate::client::{Echo, Reader, exchange, run, server_addr};

/// Streams `chunks` chunks of `size` bytes, announcing the length or not.
struct Streamer {
    chunks: usize,
    size: usize,
    known_len: bool,
}

impl Handler for Streamer {
    async fn handle(&self, _: Request) -> Response<'_> {
        let size = self.size;
        let stream = futures::stream::iter(0..self.chunks)
            .map(move |i| Ok::<_, BodyError>(Bytes::from(vec![b'a' + (i % 26) as u8; size])));
        let len = self.known_len.then_some((self.chunks * self.size) as u64);
        Response::new(200).with_body(Body::Stream {
            len,
            stream: stream.boxed_local(),
        })
    }
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    run(Echo, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        for i in 0..5 {
            let req = format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n");
            let resp = exchange(&mut flow, req.as_bytes()).await;
            assert_eq!(resp.status, 200);
            assert_eq!(resp.header("x-target"), Some(format!("/{i}").as_str()));
            assert_eq!(resp.header("connection"), None);
        }
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    run(Echo, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let mut batch = Vec::new();
        batch.extend_from_slice(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
        batch.extend_from_slice(b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        batch.extend_from_slice(b"HEAD /three HTTP/1.1\r\nHost: a\r\n\r\n");
        batch.extend_from_slice(
            b"POST /four HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n",
        );
        batch.extend_from_slice(b"GET /five HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        flow.write_all(&batch).await.unwrap();
        let mut r = Reader::new();
        let one = r.response(&mut flow, false).await.unwrap();
        let two = r.response(&mut flow, false).await.unwrap();
        let three = r.response(&mut flow, true).await.unwrap();
        let four = r.response(&mut flow, false).await.unwrap();
        let five = r.response(&mut flow, false).await.unwrap();
        assert_eq!(one.header("x-target"), Some("/one"));
        assert_eq!(
            (two.header("x-target"), &two.body[..]),
            (Some("/two"), &b"hello"[..])
        );
        assert_eq!(three.header("x-method"), Some("HEAD"));
        assert_eq!(three.header("content-length"), Some("0"));
        assert_eq!(
            (&four.body[..], four.header("x-trailers")),
            (&b"abc"[..], Some("x=y"))
        );
        assert_eq!(five.header("connection"), Some("close"));
        assert!(r.closed(&mut flow).await);
    });
}

#[test]
fn head_sends_the_get_length_without_body() {
    let streamer = Streamer {
        chunks: 3,
        size: 1000,
        known_len: true,
    };
    run(streamer, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        flow.write_all(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let mut r = Reader::new();
        let head = r.response(&mut flow, true).await.unwrap();
        assert_eq!(head.header("content-length"), Some("3000"));
        let get = r.response(&mut flow, false).await.unwrap();
        assert_eq!(get.body.len(), 3000);
        assert_eq!(&get.body[1000..1003], b"bbb");
    });
}

#[test]
fn unknown_length_is_chunked_for_11_and_close_delimited_for_10() {
    let streamer = || Streamer {
        chunks: 4,
        size: 100,
        known_len: false,
    };
    run(streamer(), Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(&mut flow, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
        assert_eq!(resp.body.len(), 400);
        // The connection persists after a chunked response.
        let again = exchange(&mut flow, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(again.body.len(), 400);
    });
    run(streamer(), Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(
            &mut flow,
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        .await;
        assert_eq!(resp.header("transfer-encoding"), None);
        assert_eq!(resp.header("connection"), Some("close"));
        assert_eq!(resp.body.len(), 400);
    });
}

#[test]
fn http10_closes_unless_keep_alive() {
    run(Echo, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(&mut flow, b"GET / HTTP/1.0\r\n\r\n").await;
        assert_eq!(resp.header("connection"), Some("close"));
        assert!(Reader::new().closed(&mut flow).await);

        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(
            &mut flow,
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        .await;
        assert_eq!(resp.header("connection"), Some("keep-alive"));
        let resp = exchange(
            &mut flow,
            b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        .await;
        assert_eq!(resp.header("x-target"), Some("/b"));
    });
}

#[test]
fn date_comes_from_the_wall_clock() {
    run(Echo, Config::default(), |host, clock| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(&mut flow, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(
            resp.header("date"),
            Some(imf_fixdate(clock.now_posix()).as_str())
        );
        clock.sleep(Duration::from_secs(90)).await;
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(&mut flow, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(
            resp.header("date"),
            Some(imf_fixdate(clock.now_posix()).as_str())
        );
        assert_eq!(resp.header("server"), Some("mirage-http"));
    });
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    run(Echo, Config::default(), |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        flow.write_all(
            b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        )
        .await
        .unwrap();
        let mut r = Reader::new();
        let interim = r.response(&mut flow, false).await.unwrap();
        assert_eq!(interim.status, 100);
        flow.write_all(b"data").await.unwrap();
        let resp = r.response(&mut flow, false).await.unwrap();
        assert_eq!((resp.status, &resp.body[..]), (200, &b"data"[..]));
    });
}

#[test]
fn oversized_body_with_expect_gets_413_without_100() {
    let config = Config {
        limits: mirage_http::parse::Limits {
            max_body: 10,
            ..Default::default()
        },
        ..Config::default()
    };
    run(Echo, config, |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(
            &mut flow,
            b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
        )
        .await;
        assert_eq!(resp.status, 413);
        assert_eq!(resp.header("connection"), Some("close"));
    });
}

#[test]
fn limits_map_to_their_status_and_close() {
    let config = Config {
        limits: mirage_http::parse::Limits {
            max_uri: 100,
            max_head: 1000,
            max_headers: 10,
            max_body: 100,
        },
        ..Config::default()
    };
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "u".repeat(200));
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "h".repeat(2000)
    );
    let many = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", "X: y\r\n".repeat(20));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (long_uri.into_bytes(), 414),
        (big_head.into_bytes(), 431),
        (many.into_bytes(), 431),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n".to_vec(), 413),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n".to_vec(),
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            400,
        ),
        (b"GET / HTTP/2.0\r\n\r\n".to_vec(), 505),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            501,
        ),
    ];
    for (req, status) in cases {
        run(Echo, config.clone(), |host, _| async move {
            let mut flow = host.tcp_connect(server_addr()).await.unwrap();
            flow.write_all(&req).await.unwrap();
            let mut r = Reader::new();
            let resp = r.response(&mut flow, false).await.unwrap();
            assert_eq!(
                resp.status,
                status,
                "{}",
                String::from_utf8_lossy(&req[..40])
            );
            assert_eq!(resp.header("connection"), Some("close"));
            assert!(r.closed(&mut flow).await);
        });
    }
}

#[test]
fn slow_headers_get_408_after_the_header_timeout() {
    let config = Config {
        header_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    run(Echo, config, |host, clock| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let start = clock.now();
        // Slowloris: a byte every second never completes the head; the
        // server stops reading (and the writes fail) soon after 10 s.
        let mut failed_after = None;
        for b in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: "
            .iter()
            .cycle()
            .take(60)
        {
            if flow.write_all(&[*b]).await.is_err() {
                failed_after = Some(clock.now() - start);
                break;
            }
            clock.sleep(Duration::from_secs(1)).await;
        }
        let failed_after = failed_after.expect("the server kept reading a slowloris");
        assert!(failed_after >= Duration::from_secs(10), "{failed_after:?}");
        assert!(failed_after <= Duration::from_secs(14), "{failed_after:?}");
        let resp = Reader::new().response(&mut flow, false).await.unwrap();
        assert_eq!(resp.status, 408);
    });
}

#[test]
fn header_timeout_is_measured_in_virtual_time() {
    let config = Config {
        header_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    run(Echo, config, |host, clock| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let start = clock.now();
        flow.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        let mut r = Reader::new();
        let resp = r.response(&mut flow, false).await.unwrap();
        assert_eq!(resp.status, 408);
        assert_eq!(clock.now() - start, Duration::from_secs(10));
        assert!(r.closed(&mut flow).await);
    });
}

#[test]
fn idle_connections_close_after_the_idle_timeout() {
    let config = Config {
        idle_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    run(Echo, config, |host, clock| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let resp = exchange(&mut flow, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(resp.status, 200);
        let start = clock.now();
        assert!(Reader::new().closed(&mut flow).await);
        assert_eq!(clock.now() - start, Duration::from_secs(5));
    });
}

#[test]
fn excess_connections_are_refused_without_disturbing_others() {
    let config = Config {
        max_connections: 2,
        ..Config::default()
    };
    run(Echo, config, |host, clock| async move {
        let mut a = host.tcp_connect(server_addr()).await.unwrap();
        let mut b = host.tcp_connect(server_addr()).await.unwrap();
        // Let the server accept both.
        clock.sleep(Duration::from_millis(1)).await;
        let mut c = host.tcp_connect(server_addr()).await.unwrap();
        let mut rc = Reader::new();
        let refused = rc.response(&mut c, false).await.unwrap();
        assert_eq!(refused.status, 503);
        assert!(rc.closed(&mut c).await);
        let (ra, rb) = join(
            exchange(&mut a, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
            exchange(&mut b, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n"),
        )
        .await;
        assert_eq!((ra.status, rb.status), (200, 200));
        // Once one closes, a new connection is served again.
        drop(a);
        clock.sleep(Duration::from_millis(1)).await;
        let mut d = host.tcp_connect(server_addr()).await.unwrap();
        assert_eq!(
            exchange(&mut d, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .await
                .status,
            200
        );
    });
}

#[test]
fn connections_are_served_concurrently() {
    run(Echo, Config::default(), |host, _| async move {
        let one = async {
            let mut f = host.tcp_connect(server_addr()).await.unwrap();
            // A partial request does not hold up the others.
            f.write_all(b"GET /slow HTTP/1.1\r\n").await.unwrap();
            f
        };
        let mut slow = one.await;
        let (r1, r2, r3) = join3(
            async {
                let mut f = host.tcp_connect(server_addr()).await.unwrap();
                exchange(&mut f, b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n").await
            },
            async {
                let mut f = host.tcp_connect(server_addr()).await.unwrap();
                exchange(&mut f, b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n").await
            },
            async {
                let mut f = host.tcp_connect(server_addr()).await.unwrap();
                exchange(&mut f, b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n").await
            },
        )
        .await;
        assert_eq!((r1.status, r2.status, r3.status), (200, 200, 200));
        let resp = exchange(&mut slow, b"Host: a\r\n\r\n").await;
        assert_eq!(resp.header("x-target"), Some("/slow"));
    });
}

#[test]
fn slow_readers_are_dropped_after_the_send_timeout() {
    let config = Config {
        send_timeout: Duration::from_secs(3),
        ..Config::default()
    };
    let streamer = Streamer {
        chunks: 64,
        size: 16 * 1024,
        known_len: true,
    };
    run(streamer, config, |host, clock| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        flow.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        // Read nothing for a while: the pipe fills and the server waits.
        let start = clock.now();
        clock.sleep(Duration::from_secs(10)).await;
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = flow.read(&mut buf).await {
            got += n;
        }
        // The response was cut short: the server gave up on us.
        assert!(got < 64 * 16 * 1024, "{got}");
        assert!(clock.now() - start >= Duration::from_secs(10));
    });
}

#[test]
fn connections_close_after_the_request_limit() {
    let config = Config {
        max_requests_per_connection: 3,
        ..Config::default()
    };
    run(Echo, config, |host, _| async move {
        let mut flow = host.tcp_connect(server_addr()).await.unwrap();
        let mut r = Reader::new();
        for i in 1..=3 {
            flow.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .await
                .unwrap();
            let resp = r.response(&mut flow, false).await.unwrap();
            let expected = if i == 3 { Some("close") } else { None };
            assert_eq!(resp.header("connection"), expected, "request {i}");
        }
        assert!(r.closed(&mut flow).await);
    });
}
