//! A scripted receive-pack on the in-memory internet: the commands and the
//! pack the client sends, and every shape of report the server can give.

use std::cell::RefCell;
use std::rc::Rc;

use mirage_core::mem::{MemInternet, Simulation};
use mirage_core::{Stack, TcpListener};
use mirage_git::io::{FlowIo, Output};
use mirage_git::pack::{self, Limits};
use mirage_git::pktline::{self, Line, Packet, PktReader};
use mirage_git::{Client, Error, Expect, MemStore, ObjectId, RefUpdate, Url};

use crate::common::commit_on;

/// What the server received: command lines and the pack's object count.
#[derive(Debug, Default)]
struct Received {
    commands: Vec<String>,
    objects: Option<usize>,
}

/// Runs a push of `updates` against a server advertising `refs` and
/// answering with `report` (plain report-status lines).
fn push(
    store: &MemStore,
    refs: Vec<(String, ObjectId)>,
    updates: Vec<RefUpdate>,
    report: Vec<String>,
) -> (Result<mirage_git::PushOutcome, Error>, Received) {
    let mut sim = Simulation::new(11);
    let net = MemInternet::new();
    let client = net.host(["10.0.0.1".parse().unwrap()]);
    let server = net.host(["10.0.0.2".parse().unwrap()]);
    let listener = sim
        .block_on(server.tcp_listen("10.0.0.2:9418".parse().unwrap()))
        .unwrap()
        .unwrap();
    let received = Rc::new(RefCell::new(Received::default()));
    let rec = received.clone();
    sim.spawn(async move {
        let flow = listener.accept().await.unwrap();
        let mut r = PktReader::new(FlowIo(flow));
        let Line::Data(first) = r.read_raw().await.unwrap() else {
            panic!()
        };
        assert!(first.starts_with(b"git-receive-pack /repo.git\0host=10.0.0.2\0"));
        let mut out = Vec::new();
        let zero = "0".repeat(40);
        if refs.is_empty() {
            pktline::encode_data(
                format!("{zero} capabilities^{{}}\0report-status delete-refs\n").as_bytes(),
                &mut out,
            )
            .unwrap();
        }
        for (i, (name, id)) in refs.iter().enumerate() {
            let caps = if i == 0 {
                "\0report-status delete-refs agent=scripted"
            } else {
                ""
            };
            pktline::encode_data(format!("{id} {name}{caps}\n").as_bytes(), &mut out).unwrap();
        }
        pktline::encode(Packet::Flush, &mut out).unwrap();
        r.get_mut().write_all(&out).await.unwrap();
        loop {
            match r.read_raw().await.unwrap() {
                Line::Flush => break,
                Line::Data(d) => rec
                    .borrow_mut()
                    .commands
                    .push(String::from_utf8_lossy(&d).into_owned()),
                _ => panic!(),
            }
        }
        if rec.borrow().commands.is_empty() {
            return;
        }
        let has_pack = rec
            .borrow()
            .commands
            .iter()
            .any(|c| !c[41..81].chars().all(|ch| ch == '0'));
        if has_pack {
            // Read the pack: the reader's buffered bytes come first.
            let mut pack_bytes = r.take_buffered();
            let mut buf = [0u8; 4096];
            loop {
                if let Ok(v) = pack::verify(&pack_bytes, &Limits::default(), &MemStore::new()) {
                    rec.borrow_mut().objects = Some(v.objects.len());
                    break;
                }
                let n = mirage_git::io::Input::read(r.get_mut(), &mut buf)
                    .await
                    .unwrap();
                assert!(n > 0, "pack ended early");
                pack_bytes.extend_from_slice(&buf[..n]);
            }
        }
        let mut out = Vec::new();
        for l in &report {
            pktline::encode_line(l, &mut out).unwrap();
        }
        pktline::encode(Packet::Flush, &mut out).unwrap();
        r.get_mut().write_all(&out).await.unwrap();
    });
    let url = Url::parse("git://10.0.0.2/repo.git").unwrap();
    let result = sim
        .block_on(async {
            Client::new(&client)
                .push(&url, store, &updates, &mut |_| {})
                .await
        })
        .unwrap();
    drop(sim);
    let received = Rc::try_unwrap(received).unwrap().into_inner();
    (result, received)
}

#[test]
fn commands_carry_the_advertised_old_value() {
    let store = MemStore::new();
    let base = commit_on(&store, None, "base", "b\n", 1);
    let next = commit_on(&store, Some(base), "next", "n\n", 2);
    let (result, received) = push(
        &store,
        vec![
            ("refs/heads/main".into(), base),
            ("refs/heads/gone".into(), base),
        ],
        vec![
            RefUpdate {
                name: "refs/heads/main".into(),
                new: Some(next),
                expect: Expect::Any,
            },
            RefUpdate {
                name: "refs/heads/gone".into(),
                new: None,
                expect: Expect::Any,
            },
            RefUpdate {
                name: "refs/heads/same".into(),
                new: None,
                expect: Expect::Absent,
            },
        ],
        vec![
            "unpack ok".into(),
            "ok refs/heads/main".into(),
            "ok refs/heads/gone".into(),
        ],
    );
    let outcome = result.unwrap();
    assert_eq!(
        outcome.up_to_date,
        ["refs/heads/same"],
        "deleting what does not exist is a no-op"
    );
    assert_eq!(outcome.updated.len(), 2);
    assert_eq!(received.commands.len(), 2);
    assert!(
        received.commands[0].starts_with(&format!("{base} {next} refs/heads/main\0report-status"))
    );
    assert_eq!(
        received.commands[1],
        format!("{base} {} refs/heads/gone\n", "0".repeat(40))
    );
    assert_eq!(
        received.objects,
        Some(3),
        "the new commit, its tree and blob"
    );
}

#[test]
fn every_report_failure_is_an_error() {
    let store = MemStore::new();
    let base = commit_on(&store, None, "base", "b\n", 1);
    let update = || {
        vec![RefUpdate {
            name: "refs/heads/main".into(),
            new: Some(base),
            expect: Expect::Absent,
        }]
    };

    let (result, received) = push(
        &store,
        vec![],
        update(),
        vec![
            "unpack index-pack abnormal exit".into(),
            "ng refs/heads/main unpacker error".into(),
        ],
    );
    assert!(
        matches!(result, Err(Error::UnpackFailed(ref m)) if m == "index-pack abnormal exit"),
        "{result:?}"
    );
    assert_eq!(received.objects, Some(3));

    let (result, _) = push(
        &store,
        vec![],
        update(),
        vec![
            "unpack ok".into(),
            "ng refs/heads/main hook declined".into(),
        ],
    );
    match result {
        Err(Error::Rejected(r)) => assert_eq!(
            (r[0].refname.as_str(), r[0].reason.as_str()),
            ("refs/heads/main", "hook declined")
        ),
        other => panic!("{other:?}"),
    }

    let (result, _) = push(&store, vec![], update(), vec!["unpack ok".into()]);
    assert!(
        matches!(result, Err(Error::Rejected(ref r)) if r[0].reason == "the server reported no status"),
        "{result:?}"
    );

    let (result, _) = push(&store, vec![], update(), vec!["garbage".into()]);
    assert!(matches!(result, Err(Error::Protocol(_))), "{result:?}");

    // An invalid name or a stale lease never reaches the server.
    let (result, received) = push(
        &store,
        vec![("refs/heads/main".into(), base)],
        vec![
            RefUpdate {
                name: "refs/heads/bad name".into(),
                new: Some(base),
                expect: Expect::Any,
            },
            RefUpdate {
                name: "refs/heads/main".into(),
                new: None,
                expect: Expect::Absent,
            },
        ],
        vec![],
    );
    match result {
        Err(Error::Rejected(r)) => {
            assert_eq!(r.len(), 2);
            assert_eq!(r[0].reason, "invalid reference name");
            assert!(r[1].reason.starts_with("stale info"));
        }
        other => panic!("{other:?}"),
    }
    assert!(received.commands.is_empty());
}
