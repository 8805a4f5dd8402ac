//! Runs the homepage appliance over a recording network device in a
//! simulation and writes what it saw to a pcap file:
//! `cargo run -p custom-backend -- homepage.pcap`, then open it in Wireshark.

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "homepage.pcap".into());
    let run = custom_backend::capture_homepage(1);
    if let Err(e) = std::fs::write(&path, &run.pcap) {
        eprintln!("custom-backend: cannot write {path}: {e}");
        return ExitCode::FAILURE;
    }
    println!("DNS answer: {:?}", run.dns_answer);
    println!("HTTP: {}", run.http_status);
    println!(
        "{} frames written to {path} (tcpdump -r {path})",
        run.frames
    );
    ExitCode::SUCCESS
}
