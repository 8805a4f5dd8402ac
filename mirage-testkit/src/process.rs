//! Running commands that must succeed, and child processes that must not
//! outlive the test.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Runs `cmd` to the end and returns its standard output; panics, showing
/// the command, its status, output and error output, if it cannot start or
/// does not exit successfully.
pub fn output(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Like [`output`], with the output as text (invalid UTF-8 replaced).
pub fn run(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&output(cmd)).into_owned()
}

/// A child process that is killed and reaped when dropped, however the
/// test ends, so no server is left running or as a zombie.
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard(child)
    }

    /// Spawns `cmd` and guards the child; panics if it cannot start.
    pub fn spawn(cmd: &mut Command) -> ChildGuard {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"));
        ChildGuard(child)
    }
}

impl ChildGuard {
    /// Sends `signal` (e.g. `libc::SIGTERM`) and waits up to `timeout` for
    /// the child to exit: its status, or `None` if it is still running (it
    /// is then killed on drop). Panics if the signal cannot be sent.
    pub fn signal_and_wait(&mut self, signal: i32, timeout: Duration) -> Option<ExitStatus> {
        let pid = i32::try_from(self.0.id()).expect("a pid that fits pid_t");
        // SAFETY: kill(2) with a valid signal number has no memory effects.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for the child") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
