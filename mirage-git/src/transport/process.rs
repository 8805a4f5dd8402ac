//! `file://` remotes: the local `git upload-pack` or `git receive-pack`
//! as a child process, talked to through blocking pipes.
//!
//! Reads and writes block the calling thread; a host program that fetches
//! from a local path accepts that, and no async runtime is needed.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::Service;
use crate::error::TransportError;

/// The pipes of a running `git upload-pack` / `git receive-pack`.
#[derive(Debug)]
pub struct ProcessIo {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
}

impl ProcessIo {
    /// Starts `git <service> <path>` (with `GIT_PROTOCOL=version=2` if `v2`).
    pub fn spawn(service: Service, path: &str, v2: bool) -> Result<Self, TransportError> {
        let sub = match service {
            Service::UploadPack => "upload-pack",
            Service::ReceivePack => "receive-pack",
        };
        let mut cmd = Command::new("git");
        cmd.arg(sub)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if v2 {
            cmd.env("GIT_PROTOCOL", "version=2");
        }
        let mut child = cmd.spawn().map_err(TransportError::Process)?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TransportError::Process(std::io::Error::other("no stdout pipe")))?;
        Ok(ProcessIo {
            child,
            stdin,
            stdout: Some(stdout),
        })
    }

    /// Reads from the process's standard output.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        match self.stdout.as_mut() {
            Some(s) => s.read(buf).map_err(TransportError::Process),
            None => Ok(0),
        }
    }

    /// Writes to the process's standard input.
    pub async fn write_all(&mut self, buf: &[u8]) -> Result<(), TransportError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or(TransportError::Stack(mirage_core::StackError::Closed))?;
        stdin.write_all(buf).map_err(TransportError::Process)
    }

    /// Flushes the process's standard input.
    pub async fn flush(&mut self) -> Result<(), TransportError> {
        match self.stdin.as_mut() {
            Some(s) => s.flush().map_err(TransportError::Process),
            None => Ok(()),
        }
    }
}

impl Drop for ProcessIo {
    fn drop(&mut self) {
        // Closing both pipes ends the service (a write to a closed pipe
        // fails); then reap it.
        drop(self.stdin.take());
        drop(self.stdout.take());
        let _ = self.child.wait();
    }
}
