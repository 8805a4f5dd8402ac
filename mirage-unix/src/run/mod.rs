//! [`run`]: the entry point of an appliance on Unix.
//!
//! It parses the boot parameters ([`BackendArgs`], flattened into the
//! application's own `clap` arguments), sets up logging, builds the devices
//! for each instance and drives the application's `start` function on a
//! single-threaded tokio runtime (inside a `LocalSet`, so futures need not
//! be `Send`). `--cores N` runs N instances, one thread each, each with its
//! own devices: one unikernel per core. `--net tap:NAME` gives the
//! instance mirage-net's TCP/IP stack over the TAP device NAME, driven
//! beside the application. SIGINT and SIGTERM stop every
//! instance (their futures are dropped) and the process exits with success;
//! an instance failing stops the others and the process exits with status 1
//! and a one-line message.

pub(crate) mod args;
mod devices;

use std::convert::Infallible;
use std::ffi::OsString;
use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;
use std::rc::Rc;

use mirage_core::Network;

use clap::{Args, Command, FromArgMatches};
use tokio::sync::{mpsc, watch};

pub use args::{ArgError, BackendArgs, DeviceSpec, Ipv4Cidr, NetChoice};
pub use devices::{DeviceError, Devices};

use crate::block::FileBlock;
use crate::clock::SystemClock;
use crate::console::StdConsole;
use crate::kv::DirKv;
use crate::random::OsRandom;
use crate::socket::SocketStack;
use crate::tap::Tap;
use crate::unix_stack::UnixStack;

/// The arguments of an application that has none of its own.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[command(about = None, long_about = None)]
pub struct NoArgs {}

/// A convenient error type for `start` closures that use `?` on errors of
/// several types.
pub type BoxError = Box<dyn std::error::Error + 'static>;

/// Runs `start` with the devices named on the command line; for an
/// application without options of its own. Returns the process's exit
/// status: return it from `main`.
///
/// ```no_run
/// use mirage_core::{Stack, TcpListener};
///
/// async fn start(stack: impl Stack) -> Result<(), mirage_core::StackError> {
///     let listener = stack.tcp_listen("127.0.0.1:8080".parse().unwrap()).await?;
///     loop {
///         drop(listener.accept().await?);
///     }
/// }
///
/// fn main() -> std::process::ExitCode {
///     mirage_unix::run(|devices| start(devices.stack()))
/// }
/// ```
pub fn run<F, Fut, E>(start: F) -> ExitCode
where
    F: Fn(Devices<NoArgs>) -> Fut + Sync,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    run_from(std::env::args_os(), start)
}

/// Like [`run`], for an application with its own `clap` arguments `A`
/// (a `#[derive(clap::Args)]` struct): the backend's options are added to
/// them, and `start` finds the parsed values in [`Devices::args`].
///
/// ```no_run
/// #[derive(Clone, clap::Args)]
/// struct AppArgs {
///     /// The port to serve.
///     #[arg(long, default_value_t = 8080)]
///     port: u16,
/// }
///
/// fn main() -> std::process::ExitCode {
///     mirage_unix::run_with(|devices: mirage_unix::Devices<AppArgs>| async move {
///         let _port = devices.args().port;
///         Ok::<(), mirage_unix::BoxError>(())
///     })
/// }
/// ```
pub fn run_with<A, F, Fut, E>(start: F) -> ExitCode
where
    A: Args + Clone + Send,
    F: Fn(Devices<A>) -> Fut + Sync,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    run_from(std::env::args_os(), start)
}

/// Like [`run_with`], parsing `argv` (program name first) instead of the
/// process's arguments.
pub fn run_from<A, I, T, F, Fut, E>(argv: I, start: F) -> ExitCode
where
    A: Args + Clone + Send,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: Fn(Devices<A>) -> Fut + Sync,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let program = program_name(&argv);
    match try_run_from(argv, start) {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Args(e)) => {
            // Help and version requests are "errors" that exit with success.
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
        Err(RunError::Failed(msg)) => {
            eprintln!("{program}: {}", one_line(&msg));
            ExitCode::FAILURE
        }
    }
}

/// Why [`try_run_from`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The command line is malformed, or asked for `--help`.
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// A device could not be built, or an instance failed; the message
    /// says which and why.
    #[error("{0}")]
    Failed(String),
}

/// Like [`run_from`], returning what happened instead of an exit status
/// (and printing nothing): for tests and for applications that do more
/// after their appliance stops.
pub fn try_run_from<A, I, T, F, Fut, E>(argv: I, start: F) -> Result<(), RunError>
where
    A: Args + Clone + Send,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: Fn(Devices<A>) -> Fut + Sync,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let program = program_name(&argv);
    let (backend, app) = parse::<A>(&program, argv)?;
    init_logging(backend.log_level);
    supervise(&backend, &app, &start).map_err(RunError::Failed)
}

fn program_name(argv: &[OsString]) -> String {
    argv.first()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unikernel".to_owned())
}

fn one_line(msg: &str) -> String {
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses the backend's options and the application's `A` together.
pub fn parse<A: Args>(
    program: &str,
    argv: impl IntoIterator<Item = OsString>,
) -> Result<(BackendArgs, A), clap::Error> {
    // The backend's options come first so that the application's doc
    // comment, if it has one, is the command's description.
    let cmd = BackendArgs::augment_args(Command::new(program.to_owned()))
        .about(None::<&str>)
        .long_about(None::<&str>)
        .next_help_heading(None::<&str>);
    let cmd = A::augment_args(cmd);
    let matches = cmd.try_get_matches_from(argv)?;
    Ok((
        BackendArgs::from_arg_matches(&matches)?,
        A::from_arg_matches(&matches)?,
    ))
}

fn init_logging(level: log::LevelFilter) {
    // Fails only if a logger is already installed (a second `run` in one
    // process), which is harmless.
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .format_timestamp_millis()
        .target(env_logger::Target::Stderr)
        .try_init();
}

/// Checks the combination of boot parameters before any instance starts.
fn check(backend: &BackendArgs) -> Result<(), String> {
    match backend.net {
        NetChoice::Socket if backend.ipv4.is_some() || backend.ipv4_gateway.is_some() => {
            return Err("--ipv4 and --ipv4-gateway apply only to --net tap:NAME".to_owned());
        }
        NetChoice::Tap(_) if backend.cores > 1 => {
            return Err(
                "--net tap runs one instance: a TAP device carries one station (use --cores 1)"
                    .to_owned(),
            );
        }
        NetChoice::Tap(_) if backend.ipv4.is_none() && backend.ipv4_gateway.is_some() => {
            return Err("--ipv4-gateway needs --ipv4 (without both, DHCP is used)".to_owned());
        }
        _ => {}
    }
    for (option, specs, kinds) in [
        ("--kv", &backend.kv, ["dir", "dir-ro"]),
        ("--block", &backend.block, ["file", "file-ro"]),
    ] {
        let mut names = std::collections::BTreeSet::new();
        for spec in specs {
            if !kinds.contains(&spec.kind.as_str()) {
                return Err(format!(
                    "{option} {spec}: unknown kind {:?} (expected {} or {})",
                    spec.kind, kinds[0], kinds[1]
                ));
            }
            if !names.insert(spec.name.as_str()) {
                return Err(format!("{option} {}: the name is given twice", spec.name));
            }
        }
    }
    Ok(())
}

type Outcome = (usize, Result<(), String>);

/// Starts the instances and waits for them, or for a signal to stop them.
fn supervise<A, F, Fut, E>(backend: &BackendArgs, app: &A, start: &F) -> Result<(), String>
where
    A: Clone + Send,
    F: Fn(Devices<A>) -> Fut + Sync,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    check(backend)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let instances = usize::from(backend.cores);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Outcome>();
    std::thread::scope(|scope| {
        // Signals are handled here, on the supervising thread, so that one
        // signal stops all instances.
        let signals = runtime.block_on(async { Signals::new() });
        let mut signals = match signals {
            Ok(s) => s,
            Err(e) => return Err(format!("cannot watch for signals: {e}")),
        };
        for i in 0..instances {
            let (done_tx, stop_rx, app) = (done_tx.clone(), stop_rx.clone(), app.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("instance-{i}"))
                .spawn_scoped(scope, move || {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        instance(i, instances, backend, app, start, stop_rx)
                    }))
                    .unwrap_or_else(|_| Err(format!("instance {i} panicked")));
                    let _ = done_tx.send((i, outcome));
                });
            if let Err(e) = spawned {
                let _ = stop_tx.send(true);
                return Err(format!("cannot start instance {i}: {e}"));
            }
        }
        drop(done_tx);
        let result = runtime.block_on(async {
            let mut running = instances;
            while running > 0 {
                tokio::select! {
                    name = signals.next() => {
                        log::info!("{name} received: stopping");
                        return Ok(());
                    }
                    outcome = done_rx.recv() => match outcome {
                        Some((i, Ok(()))) => {
                            log::debug!("instance {i} finished");
                            running -= 1;
                        }
                        Some((i, Err(msg))) => {
                            if instances > 1 {
                                return Err(format!("instance {i}: {msg}"));
                            }
                            return Err(msg);
                        }
                        None => return Ok(()),
                    },
                }
            }
            Ok(())
        });
        let _ = stop_tx.send(true);
        result
    })
}

/// SIGINT and SIGTERM.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

/// Runs one instance on its own single-threaded runtime until `start`
/// finishes or the supervisor says stop.
fn instance<A, F, Fut, E>(
    index: usize,
    instances: usize,
    backend: &BackendArgs,
    args: A,
    start: &F,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String>
where
    F: Fn(Devices<A>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    let outcome = local.block_on(&runtime, async move {
        let (devices, runner) = build(index, instances, backend, args)?;
        let app = start(devices);
        // mirage-net's runner moves frames and timers for as long as the
        // application runs.
        let net = async {
            match runner {
                Some(runner) => runner.run().await,
                None => std::future::pending::<Infallible>().await,
            }
        };
        tokio::select! {
            result = app => result.map_err(|e| e.to_string()),
            never = net => match never {},
            _ = stop.wait_for(|stop| *stop) => Ok(()),
        }
    });
    drop(local);
    // A console read may still wait for a line on a blocking thread: do not
    // wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    outcome
}

/// mirage-net's driver for a stack on a TAP device.
type TapRunner = mirage_net::Runner<Tap, SystemClock>;

/// mirage-net's stack on the TAP device `name`, with a static address or,
/// without `--ipv4`, DHCP.
fn tap_stack(
    name: &str,
    backend: &BackendArgs,
    random: OsRandom,
) -> Result<(mirage_net::Stack, TapRunner), String> {
    let tap = Tap::open(name).map_err(|e| e.to_string())?;
    let config = match backend.ipv4 {
        Some(cidr) => {
            mirage_net::Config::ipv4_static(cidr.addr, cidr.prefix_len, backend.ipv4_gateway)
        }
        None => mirage_net::Config::default(),
    };
    log::info!(
        "{name}: MAC {}, host side {}, MTU {}, IPv4 {}",
        tap.mac_address(),
        tap.host_mac(),
        tap.capabilities().mtu,
        backend
            .ipv4
            .map_or_else(|| "by DHCP".to_owned(), |c| c.to_string()),
    );
    mirage_net::Stack::new(tap, SystemClock::new(), random, config)
        .map_err(|e| format!("--net tap:{name}: {e}"))
}

/// Builds one instance's devices (inside its runtime, so sockets register
/// with its reactor), and the runner of its stack if it has one of its own.
fn build<A>(
    instance: usize,
    instances: usize,
    backend: &BackendArgs,
    args: A,
) -> Result<(Devices<A>, Option<TapRunner>), String> {
    let random = OsRandom::new().map_err(|e| e.to_string())?;
    let (stack, runner) = match &backend.net {
        NetChoice::Socket => (UnixStack::Socket(SocketStack::new()), None),
        NetChoice::Tap(name) => {
            let (stack, runner) = tap_stack(name, backend, random)?;
            (UnixStack::Net(stack), Some(runner))
        }
    };
    let mut kvs = std::collections::BTreeMap::new();
    for spec in &backend.kv {
        let kv = DirKv::open(&spec.path, !spec.read_only())
            .map_err(|e| format!("--kv {}: {e}", spec.name))?;
        kvs.insert(spec.name.clone(), kv);
    }
    let mut blocks = std::collections::BTreeMap::new();
    for spec in &backend.block {
        let block = FileBlock::open(&spec.path, !spec.read_only())
            .map_err(|e| format!("--block {}: {e}", spec.name))?;
        blocks.insert(spec.name.clone(), block);
    }
    let devices = Devices {
        instance,
        instances,
        stack,
        clock: SystemClock::new(),
        random,
        console: Rc::new(StdConsole::new()),
        kvs,
        blocks,
        args,
    };
    Ok((devices, runner))
}
