//! A scripted protocol v2 upload-pack on mirage-core's in-memory internet:
//! negotiation rounds, corrupt and incomplete packs, server errors, all in
//! deterministic simulation.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use mirage_core::mem::{MemInternet, MemStack, Simulation};
use mirage_core::{Stack, TcpListener};
use mirage_git::error::{PackError, ProtocolError};
use mirage_git::io::{FlowIo, Output};
use mirage_git::pktline::{self, Line, Packet, PacketSource, PktReader};
use mirage_git::{Client, Error, FetchRequest, MemStore, ObjectId, ObjectStore, Url, pack};

use crate::common::commit_on;

/// What the server saw in one fetch request.
#[derive(Debug, Clone, Default)]
struct Seen {
    wants: Vec<ObjectId>,
    haves: Vec<ObjectId>,
    done: bool,
}

/// What the script answers to a fetch request.
enum Reply {
    Acks {
        acks: Vec<ObjectId>,
        ready: bool,
        pack: Option<Vec<u8>>,
    },
    Pack(Vec<u8>),
    Err(&'static str),
}

type Script = Box<dyn FnMut(&Seen) -> Reply>;

async fn serve(
    listener: <MemStack as Stack>::TcpListener,
    refs: Vec<(String, ObjectId)>,
    mut script: Script,
    log: Rc<RefCell<Vec<Seen>>>,
) {
    loop {
        let flow = listener.accept().await.unwrap();
        let mut r = PktReader::new(FlowIo(flow));
        let Line::Data(first) = r.read_raw().await.unwrap() else {
            panic!("no request line")
        };
        assert!(first.starts_with(b"git-upload-pack /repo.git\0host=10.0.0.2\0"));
        assert!(first.ends_with(b"\0version=2\0"));
        let mut out = Vec::new();
        for l in [
            "version 2",
            "agent=scripted",
            "ls-refs",
            "fetch=shallow",
            "object-format=sha1",
        ] {
            pktline::encode_line(l, &mut out).unwrap();
        }
        pktline::encode(Packet::Flush, &mut out).unwrap();
        r.get_mut().write_all(&out).await.unwrap();
        loop {
            let mut lines = Vec::new();
            loop {
                match r.read_line().await {
                    Ok(Line::Flush) => break,
                    Ok(Line::Data(d)) => lines.push(String::from_utf8(d).unwrap()),
                    Ok(_) => lines.push("|".into()),
                    Err(_) => break,
                }
            }
            let mut out = Vec::new();
            if lines.is_empty() {
                break;
            } else if lines[0] == "command=ls-refs" {
                for (name, id) in &refs {
                    pktline::encode_line(&format!("{id} {name}"), &mut out).unwrap();
                }
                pktline::encode(Packet::Flush, &mut out).unwrap();
            } else {
                assert_eq!(lines[0], "command=fetch");
                let mut seen = Seen::default();
                for l in &lines {
                    if let Some(w) = l.strip_prefix("want ") {
                        seen.wants.push(ObjectId::from_hex(w.as_bytes()).unwrap());
                    } else if let Some(h) = l.strip_prefix("have ") {
                        seen.haves.push(ObjectId::from_hex(h.as_bytes()).unwrap());
                    } else if l == "done" {
                        seen.done = true;
                    }
                }
                let reply = script(&seen);
                log.borrow_mut().push(seen);
                let pack = match reply {
                    Reply::Err(msg) => {
                        pktline::encode_line(&format!("ERR {msg}"), &mut out).unwrap();
                        None
                    }
                    Reply::Pack(p) => Some(p),
                    Reply::Acks { acks, ready, pack } => {
                        pktline::encode_line("acknowledgments", &mut out).unwrap();
                        if acks.is_empty() {
                            pktline::encode_line("NAK", &mut out).unwrap();
                        }
                        for a in acks {
                            pktline::encode_line(&format!("ACK {a}"), &mut out).unwrap();
                        }
                        if ready {
                            pktline::encode_line("ready", &mut out).unwrap();
                            pktline::encode(Packet::Delim, &mut out).unwrap();
                        } else {
                            pktline::encode(Packet::Flush, &mut out).unwrap();
                        }
                        pack
                    }
                };
                if let Some(p) = pack {
                    pktline::encode_line("packfile", &mut out).unwrap();
                    pktline::encode_sideband(2, b"Enumerating objects: done.\n", &mut out);
                    pktline::encode_sideband(1, &p, &mut out);
                    pktline::encode(Packet::Flush, &mut out).unwrap();
                }
            }
            r.get_mut().write_all(&out).await.unwrap();
        }
    }
}

/// A pack of the given objects, read from `store`.
fn pack_of(store: &MemStore, ids: &[ObjectId]) -> Vec<u8> {
    let objects: Vec<_> = ids
        .iter()
        .map(|id| store.read(id).unwrap().unwrap())
        .collect();
    pack::write_pack(
        objects.iter().map(|(k, d)| (*k, d.as_slice())),
        objects.len(),
    )
    .unwrap()
}

/// The commit, its tree and its blob.
fn closure_of_commit(store: &MemStore, commit: ObjectId) -> Vec<ObjectId> {
    let (_, data) = store.read(&commit).unwrap().unwrap();
    let tree = ObjectId::from_hex(&data[5..45]).unwrap();
    let (_, tree_data) = store.read(&tree).unwrap().unwrap();
    let blobs = tree_data
        .split(|&b| b == 0)
        .skip(1)
        .map(|chunk| ObjectId::from_bytes_or_panic(&chunk[..20]));
    let mut ids = vec![commit, tree];
    ids.extend(blobs);
    ids
}

fn setup(
    script: Script,
    refs: Vec<(String, ObjectId)>,
) -> (Simulation, MemStack, Rc<RefCell<Vec<Seen>>>) {
    let mut sim = Simulation::new(7);
    let net = MemInternet::new();
    let client = net.host(["10.0.0.1".parse().unwrap()]);
    let server = net.host(["10.0.0.2".parse().unwrap()]);
    let log = Rc::new(RefCell::new(Vec::new()));
    let listener = sim
        .block_on(server.tcp_listen("10.0.0.2:9418".parse().unwrap()))
        .unwrap()
        .unwrap();
    sim.spawn(serve(listener, refs, script, log.clone()));
    (sim, client, log)
}

fn url() -> Url {
    Url::parse("git://10.0.0.2/repo.git").unwrap()
}

#[test]
fn negotiation_resends_common_haves_until_ready() {
    // Server history: base <- upstream. Client: base <- 40 local commits.
    let server_store = MemStore::new();
    let base = commit_on(&server_store, None, "base", "b\n", 1);
    let upstream = commit_on(&server_store, Some(base), "up", "u\n", 2);
    let client_store = MemStore::new();
    for id in closure_of_commit(&server_store, base) {
        let (k, d) = server_store.read(&id).unwrap().unwrap();
        client_store.write(k, &d).unwrap();
    }
    let mut local = base;
    for i in 0..40 {
        local = commit_on(&client_store, Some(local), &format!("l{i}"), "l\n", 10 + i);
    }
    let new_objects: Vec<ObjectId> = vec![
        upstream,
        closure_of_commit(&server_store, upstream)[1],
        closure_of_commit(&server_store, upstream)[3],
    ];
    let pack = pack_of(&server_store, &new_objects);
    let script: Script = Box::new(move |seen: &Seen| {
        if seen.haves.contains(&base) {
            Reply::Acks {
                acks: vec![base],
                ready: true,
                pack: Some(pack.clone()),
            }
        } else {
            Reply::Acks {
                acks: vec![],
                ready: false,
                pack: None,
            }
        }
    });
    let (mut sim, stack, log) = setup(script, vec![("refs/heads/main".into(), upstream)]);
    let req = FetchRequest {
        refs: vec!["refs/heads/main".into()],
        local_tips: vec![local],
        ..Default::default()
    };
    let mut progress = Vec::new();
    let outcome = sim
        .block_on(async {
            Client::new(&stack)
                .fetch(&url(), &client_store, &req, &mut |p| {
                    progress.extend_from_slice(p)
                })
                .await
        })
        .unwrap()
        .unwrap();
    assert_eq!(outcome.get("refs/heads/main"), Some(upstream));
    assert_eq!(outcome.objects, 3);
    assert!(client_store.contains(&upstream).unwrap());
    let log = log.borrow();
    // 16 haves, then 32 (the last 24 local commits and base): ready.
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].haves.len(), 16);
    assert!(!log[0].done && !log[1].done);
    assert_eq!(log[1].wants, vec![upstream]);
    assert!(log[1].haves.contains(&base));
    assert_eq!(progress, b"Enumerating objects: done.\n");
}

#[test]
fn nothing_in_common_ends_with_done() {
    let server_store = MemStore::new();
    let head = commit_on(&server_store, None, "a", "a\n", 1);
    let pack = pack_of(&server_store, &closure_of_commit(&server_store, head));
    let client_store = MemStore::new();
    let mut local = commit_on(&client_store, None, "mine", "m\n", 1);
    for i in 0..3 {
        local = commit_on(&client_store, Some(local), &format!("m{i}"), "m\n", 2 + i);
    }
    let script: Script = Box::new(move |seen: &Seen| {
        if seen.done {
            Reply::Pack(pack.clone())
        } else {
            Reply::Acks {
                acks: vec![],
                ready: false,
                pack: None,
            }
        }
    });
    let (mut sim, stack, log) = setup(script, vec![("refs/heads/main".into(), head)]);
    let req = FetchRequest {
        refs: vec!["refs/heads/*".into()],
        local_tips: vec![local],
        ..Default::default()
    };
    let outcome = sim
        .block_on(Client::new(&stack).fetch(&url(), &client_store, &req, &mut |_| {}))
        .unwrap()
        .unwrap();
    assert_eq!(outcome.objects, 3);
    let log = log.borrow();
    assert_eq!(log.len(), 2, "all 4 haves in vain, then done");
    assert_eq!(log[0].haves.len(), 4);
    assert!(log[1].done && log[1].haves.is_empty());
}

fn fetch_error(reply: impl Fn(&MemStore, ObjectId) -> Reply + 'static) -> (Error, MemStore) {
    let server_store = MemStore::new();
    let head = commit_on(&server_store, None, "a", "content\n", 1);
    let reply = reply(&server_store, head);
    let mut reply = Some(reply);
    let script: Script = Box::new(move |_| reply.take().unwrap_or(Reply::Err("again")));
    let (mut sim, stack, _log) = setup(script, vec![("refs/heads/main".into(), head)]);
    let store = MemStore::new();
    let err = sim
        .block_on(Client::new(&stack).clone(&url(), &store, &mut |_| {}))
        .unwrap()
        .unwrap_err();
    (err, store)
}

#[test]
fn corrupt_pack_is_refused_and_nothing_stored() {
    let (err, store) = fetch_error(|s, head| {
        let mut p = pack_of(s, &closure_of_commit(s, head));
        let n = p.len();
        p[n / 2] ^= 1;
        Reply::Pack(p)
    });
    assert!(matches!(err, Error::Pack(PackError::Checksum)), "{err:?}");
    assert!(store.is_empty());
}

#[test]
fn incomplete_pack_is_refused_and_nothing_stored() {
    let (err, store) = fetch_error(|s, head| {
        // The commit and its tree, but not the blob.
        let ids = closure_of_commit(s, head);
        Reply::Pack(pack_of(s, &ids[..2]))
    });
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Incomplete(_))),
        "{err:?}"
    );
    assert!(store.is_empty());
}

#[test]
fn server_error_is_reported() {
    let (err, store) = fetch_error(|_, _| Reply::Err("upload-pack: not our ref"));
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Remote(ref m)) if m == "upload-pack: not our ref"),
        "{err:?}"
    );
    assert!(store.is_empty());
}

#[test]
fn refused_connection_is_a_transport_error() {
    let mut sim = Simulation::new(1);
    let net = MemInternet::new();
    let stack = net.host(["10.0.0.1".parse().unwrap()]);
    let store = MemStore::new();
    let err = sim
        .block_on(Client::new(&stack).clone(&url(), &store, &mut |_| {}))
        .unwrap()
        .unwrap_err();
    let addr: SocketAddr = "10.0.0.2:9418".parse().unwrap();
    assert!(
        matches!(err, Error::Transport(mirage_git::error::TransportError::Stack(mirage_core::StackError::ConnectionRefused(a))) if a == addr),
        "{err:?}"
    );
}

#[test]
fn stalled_server_is_cut_off_by_a_timeout() {
    // A server that accepts and then never answers; the caller bounds the
    // whole operation with mirage-core's `timeout` on the simulation's
    // virtual clock.
    let mut sim = Simulation::new(5);
    let net = MemInternet::new();
    let stack = net.host(["10.0.0.1".parse().unwrap()]);
    let server = net.host(["10.0.0.2".parse().unwrap()]);
    let listener = sim
        .block_on(server.tcp_listen("10.0.0.2:9418".parse().unwrap()))
        .unwrap()
        .unwrap();
    sim.spawn(async move {
        let _flow = listener.accept().await.unwrap();
        futures::future::pending::<()>().await;
    });
    let clock = sim.clock();
    let store = MemStore::new();
    let result = sim
        .block_on(mirage_core::time::timeout(
            &clock,
            core::time::Duration::from_secs(30),
            Client::new(&stack).clone(&url(), &store, &mut |_| {}),
        ))
        .unwrap();
    assert!(result.is_err(), "the deadline passed first");
    assert!(store.is_empty());
}

#[test]
fn idle_timeout_cuts_a_silent_server_but_not_a_slow_one() {
    use core::time::Duration;
    use mirage_core::{MonotonicClock, TcpFlow, Time};
    use mirage_git::transport::idle::IdleTimeout;

    let mut sim = Simulation::new(9);
    let net = MemInternet::new();
    let server = net.host(["10.0.0.2".parse().unwrap()]);
    let listener = sim
        .block_on(server.tcp_listen("10.0.0.2:9418".parse().unwrap()))
        .unwrap()
        .unwrap();
    let clock = sim.clock();
    let server_clock = clock.clone();
    sim.spawn(async move {
        // First connection: silence. Second: the advertisement and an empty
        // ls-refs answer, one byte every 10 seconds.
        let _silent = listener.accept().await.unwrap();
        let mut flow = listener.accept().await.unwrap();
        let mut buf = [0u8; 512];
        let _ = flow.read(&mut buf).await.unwrap();
        let mut out = Vec::new();
        for l in ["version 2", "ls-refs", "fetch", "object-format=sha1"] {
            pktline::encode_line(l, &mut out).unwrap();
        }
        pktline::encode(Packet::Flush, &mut out).unwrap();
        for b in out {
            server_clock.sleep(Duration::from_secs(10)).await;
            flow.write_all(&[b]).await.unwrap();
        }
        let _ = flow.read(&mut buf).await.unwrap();
        flow.write_all(b"0000").await.unwrap();
        futures::future::pending::<()>().await;
    });
    let stack = IdleTimeout::new(
        net.host(["10.0.0.1".parse().unwrap()]),
        clock.clone(),
        Duration::from_secs(30),
    );
    let start = clock.now();
    let err = sim
        .block_on(Client::new(&stack).ls_refs(&url(), &[]))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(mirage_git::error::TransportError::Stack(
                mirage_core::StackError::TimedOut
            ))
        ),
        "{err:?}"
    );
    assert_eq!(
        clock.now().saturating_duration_since(start),
        Duration::from_secs(30)
    );

    let refs = sim
        .block_on(Client::new(&stack).ls_refs(&url(), &[]))
        .unwrap()
        .unwrap();
    assert!(refs.is_empty());
}

/// The idle-timeout wrapper is a whole `Stack`: the contract suite passes
/// through it (including regions handed on in pieces).
#[test]
fn an_idle_timeout_stack_keeps_the_stack_contract() {
    use core::net::{IpAddr, Ipv4Addr};
    use core::time::Duration;
    use mirage_core::conformance;
    use mirage_git::transport::idle::IdleTimeout;
    let mut sim = Simulation::new(5);
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let host = MemInternet::new().host([ip]);
    let stack = IdleTimeout::new(host, sim.clock(), Duration::from_secs(30));
    sim.block_on(conformance::stack(&stack, ip)).unwrap();
}
