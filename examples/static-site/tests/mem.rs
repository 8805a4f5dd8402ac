//! The appliance on mirage-core's in-memory devices, in virtual time.

use core::pin::pin;

use futures::future::{Either, select};
use mirage_core::mem::{MemInternet, MemKv, Simulation};
use mirage_core::{Key, KvRw, Stack, TcpFlow};
use static_site::unikernel::{Error, Options, copy_tree, start};

fn options(listen: &str) -> Options {
    Options {
        listen: listen.parse().unwrap(),
        http: Default::default(),
        site: Default::default(),
    }
}

/// Sends `request` on a fresh connection and reads until the server closes.
async fn fetch(client: &mirage_core::mem::MemStack, request: &[u8]) -> String {
    let mut flow = client
        .tcp_connect("10.0.0.1:8080".parse().unwrap())
        .await
        .unwrap();
    flow.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0; 4096];
    while let Ok(n @ 1..) = flow.read(&mut buf).await {
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn serves_a_site_from_memory() {
    let mut sim = Simulation::new(9);
    let clock = sim.clock();
    let internet = MemInternet::new();
    let site = MemKv::new(clock.clone());
    for (path, data) in [
        ("index.html", "<h1>home</h1>"),
        ("blog/index.html", "<h1>blog</h1>"),
        ("app.js", "console.log(1)"),
        ("404.html", "<p>not here</p>"),
    ] {
        sim.block_on(site.set(&Key::parse(path).unwrap(), data.into()))
            .unwrap()
            .unwrap();
    }
    let appliance = start(
        internet.host(["10.0.0.1".parse().unwrap()]),
        site,
        clock,
        options("0.0.0.0:8080"),
    );
    let client = internet.host(["10.0.0.2".parse().unwrap()]);
    let replies = sim
        .block_on(async {
            let visits = async {
                vec![
                    fetch(
                        &client,
                        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                    )
                    .await,
                    fetch(&client, b"GET /blog HTTP/1.0\r\n\r\n").await,
                    fetch(&client, b"GET /blog/ HTTP/1.0\r\n\r\n").await,
                    fetch(&client, b"GET /app.js HTTP/1.0\r\n\r\n").await,
                    fetch(&client, b"GET /missing HTTP/1.0\r\n\r\n").await,
                    fetch(&client, b"GET /../etc/passwd HTTP/1.0\r\n\r\n").await,
                ]
            };
            match select(pin!(appliance), pin!(visits)).await {
                Either::Right((replies, _)) => replies,
                Either::Left((stopped, _)) => panic!("{stopped:?}"),
            }
        })
        .unwrap();
    assert!(replies[0].starts_with("HTTP/1.1 200 OK\r\n") && replies[0].ends_with("<h1>home</h1>"));
    assert!(replies[1].starts_with("HTTP/1.1 301 "));
    assert!(replies[1].contains("\r\nLocation: /blog/\r\n"));
    assert!(replies[2].ends_with("<h1>blog</h1>"));
    assert!(replies[3].contains("\r\nContent-Type: text/javascript; charset=utf-8\r\n"));
    assert!(replies[4].starts_with("HTTP/1.1 404 ") && replies[4].ends_with("<p>not here</p>"));
    assert!(replies[5].starts_with("HTTP/1.1 400 "));
}

#[test]
fn a_listen_failure_is_reported() {
    let mut sim = Simulation::new(9);
    let clock = sim.clock();
    let internet = MemInternet::new();
    let site = MemKv::new(clock.clone());
    // 10.9.9.9 is not an address of this host.
    let appliance = start(
        internet.host(["10.0.0.1".parse().unwrap()]),
        site,
        clock,
        options("10.9.9.9:80"),
    );
    let result = sim.block_on(appliance).unwrap();
    assert!(matches!(result, Err(Error::Listen { .. })), "{result:?}");
}

#[test]
fn copy_tree_copies_every_value() {
    let mut sim = Simulation::new(9);
    let from = MemKv::new(sim.clock());
    for path in ["a.html", "d/b.css", "d/e/c.js"] {
        sim.block_on(from.set(&Key::parse(path).unwrap(), path.into()))
            .unwrap()
            .unwrap();
    }
    let to = MemKv::default();
    assert_eq!(sim.block_on(copy_tree(&from, &to)).unwrap().unwrap(), 3);
    for path in ["a.html", "d/b.css", "d/e/c.js"] {
        let got = sim.block_on(mirage_core::KvRo::get(&to, &Key::parse(path).unwrap()));
        assert_eq!(&got.unwrap().unwrap()[..], path.as_bytes());
    }
}
