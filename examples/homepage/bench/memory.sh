#!/usr/bin/env bash
# Memory of the homepage appliance serving the demo site: starts the release
# build on free loopback ports, sends it HTTP and DNS traffic, and prints its
# resident set size (VmRSS and VmHWM from /proc) before and after.
# Usage: examples/homepage/bench/memory.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
requests=${1:-2000}
cargo build --release -q -p homepage
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
http=$((20000 + RANDOM % 10000))
dns=$((30000 + RANDOM % 10000))
./target/release/homepage --data-dir "$data" --http "127.0.0.1:$http" --dns "127.0.0.1:$dns" \
    --poll 0 --log-level warn >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$http/" && break
    sleep 0.1
done
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s kB  ", $1, $2}' "/proc/$pid/status"; echo; }
echo "idle:        $(rss)"
if command -v wrk >/dev/null; then
    wrk -t1 -c100 -d5s "http://127.0.0.1:$http/" | grep -E 'Requests/sec|Latency'
else
    for _ in $(seq "$requests"); do echo "url = \"http://127.0.0.1:$http/\""; done > "$data/urls"
    curl -s -o /dev/null --parallel --parallel-max 50 -K "$data/urls"
fi
if command -v dig >/dev/null; then
    for _ in $(seq 200); do dig +short +tries=1 @127.0.0.1 -p "$dns" example.org A >/dev/null; done
fi
echo "after load:  $(rss)"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
if (( hwm < 20 * 1024 )); then
    echo "peak RSS ${hwm} kB: under the 20 MiB budget"
else
    echo "peak RSS ${hwm} kB: OVER the 20 MiB budget"
fi
