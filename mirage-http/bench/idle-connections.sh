#!/usr/bin/env bash
# Memory under many idle connections: starts the static-site example (release
# build) on 127.0.0.1, opens N idle TCP connections to it (default 10 000)
# that never send a byte, and prints the server's resident set size before,
# while they are held, and its growth per connection; then checks that a
# fresh request is still answered (when the limit leaves room for it) and
# that refused excess connections did not disturb the held ones.
#
# Runs: ours with the connection limit raised above N (every connection is
# held: the per-connection cost); nginx (1 worker, worker_connections above
# N) the same way, when installed; and ours with the default limit of 1024
# and 3000 connections (the excess is refused with 503: memory stays at the
# limit's worth).
#
# Usage: mirage-http/bench/idle-connections.sh [N]
# Needs: python3, curl; nginx (Debian: nginx-light) for its figure. Not a
# test: it prints figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-10000}"
# The server and the client each hold N descriptors.
ulimit -n $(( n + 1024 )) 2>/dev/null || { echo "idle-connections: cannot raise the file limit to $(( n + 1024 ))" >&2; exit 1; }
cargo build -q --release -p static-site --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/static-site"
work="$(mktemp -d)"
# Started by root, nginx's worker runs as nobody: it must enter the directory.
chmod 755 "$work"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "${nginx_master:-}" ] && kill "$nginx_master" 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$work"/server-*.log "$KEEP_LOG"/; rm -rf "$work"' EXIT
mkdir "$work/site"
echo "<h1>idle</h1>" > "$work/site/index.html"

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# The server under test: `ours LIMIT PORT` or `nginx LIMIT PORT`; sets
# $server to the process whose memory is measured.
start_server() {
    local kind=$1 limit=$2 port=$3
    if [ "$kind" = nginx ]; then
        cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $(( limit + 1024 ));
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections $limit; }
http {
    access_log off;
    types { text/html html; }
    server { listen 127.0.0.1:$port; root $work/site; }
}
CONF
        nginx -c "$work/nginx.conf" &
        nginx_master=$!
    else
        "$bin" --listen "127.0.0.1:$port" --kv "site=dir:$work/site" --max-connections "$limit" \
            >"$work/server-$limit.log" 2>&1 &
        server=$!
    fi
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    if [ "$kind" = nginx ]; then
        # nginx's worker (the process measured) is the master's child.
        server=$(pgrep -P "$nginx_master" | head -1)
    fi
}

run() {
    local kind=$1 limit=$2 port=$3 n=$4
    # The server binds with SO_REUSEPORT, so a stale server on the port
    # would silently share the connections: refuse to measure then.
    if ss -ltn 2>/dev/null | grep ":$port " >/dev/null; then
        echo "idle-connections: port $port is in use; stop what listens there" >&2
        exit 1
    fi
    start_server "$kind" "$limit" "$port"
    local before
    before=$(rss_kb "$server")
    # Hold N connections open without sending; report how many the server
    # kept (a refused or closed one reads EOF or a reset within a second).
    python3 - "$port" "$n" "$server" "$work" <<'PY' &
import socket, sys, time
port, n, pid, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(True)
    try:
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        s.close()
time.sleep(2)
held = busy = closed = 0
for s in socks:
    try:
        head = s.recv(12, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        if head.startswith(b"HTTP/1.1 503"):
            busy += 1  # Refused with 503 Service Unavailable.
        elif head:
            held += 1
        else:
            closed += 1
    except BlockingIOError:
        held += 1  # Nothing to read: held open and idle.
    except OSError:
        closed += 1  # Reset.
with open(work + "/held", "w") as f:
    f.write(f"{len(socks)} {held} {busy} {closed}\n")
time.sleep(6)
PY
    local client=$!
    # The client writes what it holds once connected (and 2 s later).
    for _ in $(seq 300); do [ -s "$work/held" ] && break; sleep 0.2; done
    local during
    during=$(rss_kb "$server")
    local connected=0 open=0 busy=0 closed=0
    read -r connected open busy closed < "$work/held" || true
    local fresh
    fresh=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
    wait "$client" || true
    rm -f "$work/held"
    # The server serves at most `limit` of them; the rest wait in the kernel's
    # accept queue or get a 503 once they send a request (these never do).
    local served=$(( open < limit ? open : limit ))
    echo "$kind, limit $limit: $connected connected, $open still open after 2 s ($busy answered 503, $closed reset); server RSS $before kB -> $during kB, $(( (during - before) * 1024 / (served > 0 ? served : 1) )) bytes per served connection; a fresh request got ${fresh:-no answer}"
    if [ "$kind" = nginx ]; then
        kill "$nginx_master"; wait "$nginx_master" 2>/dev/null || true
        nginx_master=""
    else
        kill "$server"; wait "$server" 2>/dev/null || true
    fi
    server=""
}

nginx_master=""
run ours $(( n + 1000 )) 18091 "$n"
if command -v nginx >/dev/null; then
    run nginx $(( n + 1000 )) 18093 "$n"
else
    echo "nginx: not installed (apt-get install nginx-light), no side-by-side figure"
fi
# With the default limit, 3000 connections: 1024 are served, the excess is
# answered 503 at once (with many more, the kernel's SYN cookies keep
# connections the server never hears of until they send).
run ours 1024 18092 3000
