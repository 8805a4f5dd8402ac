use std::io::Write;
use std::process::{Command, Stdio};

use mirage_core::{Console, ConsoleError};
use mirage_unix::StdConsole;

use crate::block_on;

const CHILD: &str = "MIRAGE_UNIX_CONSOLE_CHILD";

/// In the child: copies stdin to stdout line by line through `StdConsole`,
/// upper-cased, reporting errors as lines.
#[test]
#[ignore = "a helper process of std_console_reads_and_writes_lines"]
fn console_child() {
    assert!(std::env::var_os(CHILD).is_some(), "run by the test below");
    block_on(async {
        let console = StdConsole::new();
        console.write_line("<begin>").await.unwrap();
        loop {
            match console.read_line().await {
                Ok(Some(line)) => console.write_line(&line.to_uppercase()).await.unwrap(),
                Ok(None) => break,
                Err(ConsoleError::InvalidUtf8) => console.write_line("<not utf-8>").await.unwrap(),
                Err(e) => console.write_line(&format!("<{e}>")).await.unwrap(),
            }
        }
        console.write_line("<eof>").await.unwrap();
    });
}

#[test]
fn std_console_reads_and_writes_lines() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "console::console_child",
            "--nocapture",
            "--ignored",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"hello\r\nw\xc3\xb6rld\n\xff\xfe\nlast line without newline")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("<eof>"), "{text}");
    let ours: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.ends_with("<begin>"))
        .skip(1)
        .take_while(|l| *l != "<eof>")
        .collect();
    assert_eq!(
        ours,
        ["HELLO", "WÖRLD", "<not utf-8>", "LAST LINE WITHOUT NEWLINE"],
        "{text}"
    );
}
