//! Configurations for the peer DNS servers the tests compare with or
//! resolve through, NSD and Knot, serving zone files from one directory on
//! 127.0.0.1: the configuration file is written into that directory and
//! its path returned, ready for `nsd -d -c` or `knotd -c`.

use std::path::{Path, PathBuf};

/// The zones `example.com` and `example.org`, read from
/// `<dir>/example.com.zone` and `<dir>/example.org.zone`.
pub const TEST_ZONES: [&str; 2] = ["example.com", "example.org"];

/// Writes `<dir>/nsd.conf` for an NSD on 127.0.0.1:`port`, one server
/// process, no rate limiting, everything it writes kept in `dir`, serving
/// `zones` (each from `<dir>/<zone>.zone`); `server` adds lines to the
/// `server:` section (two-space indented, newline-ended).
pub fn nsd_conf(dir: &Path, port: u16, server: &str, zones: &[&str]) -> PathBuf {
    let conf = dir.join("nsd.conf");
    let d = dir.display();
    let mut text = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  server-count: 1\n  rrl-ratelimit: 0\n{server}  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  username: \"\"\n  logfile: \"{d}/nsd.log\"\nremote-control:\n  control-enable: no\n"
    );
    for zone in zones {
        text.push_str(&format!("zone:\n  name: {zone}\n  zonefile: {zone}.zone\n"));
    }
    std::fs::write(&conf, text).expect("write nsd.conf");
    conf
}

/// Writes `<dir>/knot.conf` for a Knot on 127.0.0.1:`port` with one worker
/// of each kind, its database and run directory in `dir`, logging at `log`
/// to standard error: `server` adds lines to the `server:` section, and
/// `rest` holds the key, remote, acl and zone sections.
pub fn knot_conf(dir: &Path, port: u16, server: &str, log: &str, rest: &str) -> PathBuf {
    let conf = dir.join("knot.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "server:\n  listen: 127.0.0.1@{port}\n  rundir: \"{d}\"\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n{server}\
             database:\n  storage: \"{d}\"\n\
             log:\n  - target: stderr\n    any: {log}\n\
             {rest}"
        ),
    )
    .expect("write knot.conf");
    conf
}

/// Knot's `zone:` section serving `zones` from `<dir>/<zone>.zone`, read
/// once and never written back.
pub fn knot_zones(dir: &Path, zones: &[&str]) -> String {
    let d = dir.display();
    let mut text = String::from("zone:\n");
    for zone in zones {
        text.push_str(&format!(
            "  - domain: {zone}\n    file: \"{d}/{zone}.zone\"\n    journal-content: none\n    zonefile-sync: -1\n"
        ));
    }
    text
}
