use std::sync::atomic::{AtomicUsize, Ordering};

use mirage_core::{Block, KvRo, Stack, TcpListener};
use mirage_unix::{BoxError, Devices, NoArgs, RunError, try_run_from};

#[derive(Debug, Clone, clap::Args)]
struct AppArgs {
    /// A port of the application's own.
    #[arg(long)]
    port: u16,
    #[arg(long, default_value = "none")]
    remote: String,
}

#[test]
fn devices_come_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "hello").unwrap();
    let disk = dir.path().join("disk.img");
    std::fs::write(&disk, vec![7u8; 4096]).unwrap();
    let kv_arg = format!("site=dir-ro:{}", dir.path().display());
    let block_arg = format!("disk=file:{}", disk.display());
    let started = AtomicUsize::new(0);
    let argv = [
        "app",
        "--kv",
        &kv_arg,
        "--block",
        &block_arg,
        "--cores",
        "2",
        "--port",
        "8",
        "--log-level",
        "warn",
    ];
    let result = try_run_from(argv, |d: Devices<AppArgs>| {
        let started = &started;
        async move {
            assert_eq!(d.args().port, 8);
            assert_eq!(d.args().remote, "none");
            assert_eq!(d.instances(), 2);
            let site = d.kv("site")?;
            assert!(!site.is_read_write());
            let page = site.get(&"index.html".parse()?).await?;
            assert_eq!(&page[..], b"hello");
            let disk = d.block("disk")?;
            assert_eq!(disk.info().sectors, 8);
            assert!(d.kv("other").is_err());
            let l = d.stack().tcp_listen("127.0.0.1:0".parse()?).await?;
            assert_ne!(l.local_addr().port(), 0);
            started.fetch_add(1, Ordering::SeqCst);
            Ok::<(), BoxError>(())
        }
    });
    result.unwrap();
    assert_eq!(started.load(Ordering::SeqCst), 2, "one start per instance");
}

#[test]
fn failures_become_messages() {
    let r = try_run_from(["app"], |d: Devices<NoArgs>| async move {
        d.kv("site").map(drop)
    });
    match r {
        Err(RunError::Failed(msg)) => assert!(msg.contains("--kv site=dir:PATH"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let r = try_run_from(
        ["app", "--kv", "site=dir:/nonexistent/x"],
        |_: Devices<NoArgs>| async { Ok::<(), BoxError>(()) },
    );
    assert!(matches!(r, Err(RunError::Failed(m)) if m.contains("--kv site")));
    let r = try_run_from(["app", "--kv", "site=git:/x"], |_: Devices<NoArgs>| async {
        Ok::<(), BoxError>(())
    });
    assert!(matches!(r, Err(RunError::Failed(m)) if m.contains("unknown kind")));
    let r = try_run_from(
        ["app", "--ipv4", "10.0.0.2/24"],
        |_: Devices<NoArgs>| async { Ok::<(), BoxError>(()) },
    );
    assert!(matches!(r, Err(RunError::Failed(m)) if m.contains("only to --net tap")));
    let r = try_run_from(
        ["app", "--net", "tap:t0", "--ipv4-gateway", "10.0.0.1"],
        |_: Devices<NoArgs>| async { Ok::<(), BoxError>(()) },
    );
    assert!(matches!(r, Err(RunError::Failed(m)) if m.contains("needs --ipv4")));
    let r = try_run_from(["app", "--bogus"], |_: Devices<NoArgs>| async {
        Ok::<(), BoxError>(())
    });
    assert!(matches!(r, Err(RunError::Args(_))));
    let r = try_run_from(["app", "--cores", "3"], |d: Devices<NoArgs>| async move {
        if d.instance() == 1 {
            Err("instance one gives up")
        } else {
            std::future::pending().await
        }
    });
    assert!(
        matches!(r, Err(RunError::Failed(ref m)) if m == "instance 1: instance one gives up"),
        "one failing instance stops the others: {r:?}"
    );
}

#[test]
fn help_lists_the_application_options_then_the_devices() {
    let r = try_run_from(["app", "--help"], |_: Devices<AppArgs>| async {
        Ok::<(), BoxError>(())
    });
    let Err(RunError::Args(e)) = r else {
        panic!("--help is reported as a clap error");
    };
    assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
    let help = e.render().to_string();
    let port = help.find("--port").expect("the application's option");
    let devices = help
        .find("Unikernel devices")
        .expect("the backend's heading");
    assert!(port < devices, "{help}");
    assert!(help.find("--net").unwrap() > devices, "{help}");
    assert!(
        !help.contains("The backend's"),
        "no stray description: {help}"
    );
}
