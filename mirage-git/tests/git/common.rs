//! Helpers: a repository with packs and deltas, `git daemon` accepting
//! pushes, a CGI bridge in front of `git http-backend`, and the shared ones
//! from mirage-testkit (temporary directories, running `git`, the
//! single-threaded runtime for the host `SocketStack`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use mirage_git::{MemStore, ObjectId, ObjectKind, ObjectStore};
use mirage_testkit::git::DaemonOptions;

pub use mirage_testkit::git::{GitDaemon, available as have_git, git};
pub use mirage_testkit::runtime::block_on as run;
pub use mirage_testkit::tmp::TempDir;

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

/// `git daemon` serving `base` on 127.0.0.1, accepting pushes and telling
/// clients why a request failed.
pub fn daemon(base: &Path) -> GitDaemon {
    daemon_on(base, Ipv4Addr::LOCALHOST.into())
}

/// Like [`daemon`], listening on `ip` (`127.0.0.1` or `::1`).
pub fn daemon_on(base: &Path, ip: IpAddr) -> GitDaemon {
    GitDaemon::start_with(
        base,
        DaemonOptions {
            ip,
            receive_pack: true,
            informative_errors: true,
        },
    )
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
