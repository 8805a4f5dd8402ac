//! Helpers: temporary directories, running `git`, a repository with packs
//! and deltas, `git daemon`, a CGI bridge in front of `git http-backend`,
//! and a single-threaded runtime for the host `SocketStack`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mirage_git::{MemStore, ObjectId, ObjectKind, ObjectStore};

/// Whether `git` can be run; prints `SKIP:` if not.
pub fn have_git(test: &str) -> bool {
    match Command::new("git").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            println!("SKIP: {test}: the git command is not installed");
            false
        }
    }
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mirage-git-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs git in `dir` and returns its standard output; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Makes `<base>/repo.git`: a bare repository with history on two
/// branches, an annotated and a lightweight tag, repacked with
/// `git gc --aggressive` (so it has deltas); it refuses non-fast-forward
/// pushes and allows pushes over HTTP. Returns its path.
pub fn make_repo(base: &Path) -> PathBuf {
    let work = base.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "line {i}: the quick brown fox jumps over the lazy dog\n"
        ));
    }
    for round in 0..12 {
        text.push_str(&format!("round {round}\n"));
        std::fs::write(work.join("story.txt"), &text).unwrap();
        std::fs::create_dir_all(work.join("dir/sub")).unwrap();
        std::fs::write(
            work.join("dir/sub/notes.txt"),
            format!("{text}\nnotes {round}\n"),
        )
        .unwrap();
        std::fs::write(
            work.join(format!("file{}.txt", round % 4)),
            format!("content {round}\n"),
        )
        .unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", &format!("commit {round}")]);
        if round == 5 {
            git(&work, &["tag", "-a", "v1", "-m", "version 1"]);
            git(&work, &["tag", "light"]);
            git(&work, &["branch", "side"]);
        }
    }
    git(&work, &["checkout", "-q", "side"]);
    std::fs::write(work.join("side.txt"), "side branch\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "side work"]);
    git(&work, &["checkout", "-q", "main"]);
    let repo = base.join("repo.git");
    git(
        base,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    );
    git(&repo, &["gc", "-q", "--aggressive", "--prune=now"]);
    git(&repo, &["config", "receive.denyNonFastForwards", "true"]);
    git(&repo, &["config", "http.receivepack", "true"]);
    repo
}

/// Every object id in a repository.
pub fn all_objects(repo: &Path) -> Vec<ObjectId> {
    git(
        repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname)",
        ],
    )
    .lines()
    .map(|l| ObjectId::from_hex(l.as_bytes()).unwrap())
    .collect()
}

/// Whether the repository's pack stores some objects as deltas.
pub fn pack_has_deltas(repo: &Path) -> bool {
    let packs = git(repo, &["count-objects", "-v"]);
    assert!(packs.contains("packs: 1"), "expected one pack: {packs}");
    let dir = repo.join("objects/pack");
    let idx = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let out = git(repo, &["verify-pack", "-v", idx.to_str().unwrap()]);
    out.lines().any(|l| l.starts_with("chain length"))
}

/// The value of `refname` in `repo`.
pub fn rev(repo: &Path, refname: &str) -> ObjectId {
    ObjectId::from_hex(git(repo, &["rev-parse", refname]).trim().as_bytes()).unwrap()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(ip: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((ip, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `git-daemon` program itself: `git daemon` is a wrapper process, and
/// killing the wrapper would leave the daemon running.
fn git_daemon_command() -> Command {
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let daemon = std::path::Path::new(&exec_path).join("git-daemon");
    if daemon.is_file() {
        Command::new(daemon)
    } else {
        let mut cmd = Command::new("git");
        cmd.arg("daemon");
        cmd
    }
}

/// `git daemon` serving `base` on 127.0.0.1, with receive-pack enabled.
pub struct Daemon {
    child: Child,
    pub port: u16,
}

impl Daemon {
    pub fn start(base: &Path) -> Daemon {
        Daemon::start_on(base, "127.0.0.1")
    }

    /// Listens on `ip` (`127.0.0.1` or `::1`).
    pub fn start_on(base: &Path, ip: &str) -> Daemon {
        let port = if ip.contains(':') {
            TcpListener::bind((ip, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        } else {
            free_port()
        };
        let child = git_daemon_command()
            .args([
                "--export-all",
                "--enable=receive-pack",
                "--reuseaddr",
                "--informative-errors",
                &format!("--base-path={}", base.display()),
                &format!("--listen={ip}"),
                &format!("--port={port}"),
                base.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(ip, port);
        Daemon { child, port }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny HTTP/1.1 server that runs `git http-backend` as a CGI program
/// for each request. GET responses carry `Content-Length`; POST responses
/// are sent chunked, so the client reads both framings.
pub struct CgiBridge {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub requests: Arc<AtomicUsize>,
}

impl CgiBridge {
    pub fn start(root: &Path) -> CgiBridge {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let root = root.to_path_buf();
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        requests2.fetch_add(1, Ordering::Relaxed);
                        stream.set_nonblocking(false).unwrap();
                        serve_cgi(stream, &root);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        CgiBridge {
            port,
            stop,
            thread: Some(thread),
            requests,
        }
    }
}

impl Drop for CgiBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_cgi(stream: TcpStream, root: &Path) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut content_length = 0usize;
    let mut content_type = String::new();
    let mut protocol = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        let value = value.trim().to_string();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => content_length = value.parse().unwrap(),
            "content-type" => content_type = value,
            "git-protocol" => protocol = value,
            _ => {}
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).unwrap();

    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", &content_type)
        .env("CONTENT_LENGTH", content_length.to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("HTTP_GIT_PROTOCOL", &protocol)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut output)
        .unwrap();
    let _ = writer.join();
    let _ = child.wait();

    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .unwrap_or((output.len(), 0));
    let head = String::from_utf8_lossy(&output[..split.0]).to_string();
    let payload = &output[(split.0 + split.1).min(output.len())..];
    let mut status = "200 OK".to_string();
    let mut headers = String::new();
    for line in head.lines() {
        let line = line.trim_end();
        if let Some(s) = line.strip_prefix("Status:") {
            status = s.trim().to_string();
        } else if !line.is_empty() {
            headers.push_str(line);
            headers.push_str("\r\n");
        }
    }
    let mut out = stream;
    let mut response = format!("HTTP/1.1 {status}\r\n{headers}Connection: close\r\n").into_bytes();
    if method == "POST" {
        response.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for chunk in payload.chunks(1000) {
            response.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
            response.extend_from_slice(chunk);
            response.extend_from_slice(b"\r\n");
        }
        response.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
    } else {
        response.extend_from_slice(format!("Content-Length: {}\r\n\r\n", payload.len()).as_bytes());
        response.extend_from_slice(payload);
    }
    let _ = out.write_all(&response);
    let _ = out.flush();
}

/// Runs a future on a single-threaded tokio runtime (for `SocketStack`).
pub fn run<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, f)
}

/// Writes a commit on top of `parent` whose tree is the parent's plus the
/// file `zzz-<name>` (sorting last), or just that file without a parent.
pub fn commit_on(
    store: &MemStore,
    parent: Option<ObjectId>,
    name: &str,
    content: &str,
    time: u64,
) -> ObjectId {
    let blob = store.write(ObjectKind::Blob, content.as_bytes()).unwrap();
    let mut tree = Vec::new();
    if let Some(p) = parent {
        let (_, commit) = store.read(&p).unwrap().expect("parent in store");
        let text = String::from_utf8(commit).unwrap();
        let tree_id = ObjectId::from_hex(&text.as_bytes()[5..45]).unwrap();
        tree = store.read(&tree_id).unwrap().expect("tree in store").1;
    }
    tree.extend_from_slice(format!("100644 zzz-{name}\0").as_bytes());
    tree.extend_from_slice(blob.as_bytes());
    let tree = store.write(ObjectKind::Tree, &tree).unwrap();
    let mut text = format!("tree {tree}\n");
    if let Some(p) = parent {
        text.push_str(&format!("parent {p}\n"));
    }
    text.push_str(&format!(
        "author Mirage <mirage@example.org> {time} +0000\ncommitter Mirage <mirage@example.org> {time} +0000\n\n{name}\n"
    ));
    store.write(ObjectKind::Commit, text.as_bytes()).unwrap()
}

/// Prints progress lines from the server.
pub fn progress_sink(buf: &mut Vec<u8>) -> impl FnMut(&[u8]) + '_ {
    move |p| buf.extend_from_slice(p)
}
