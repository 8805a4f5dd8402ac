#!/usr/bin/env bash
# Queries per second and queries per server CPU-second of the examples/dns
# appliance against NSD and Knot on the same zone and query file, following
# shared/BENCHMARKS.md: server on core 1, dnsperf on core 0, 3 runs of 10 s,
# median and spread, one `ours / peer = ratio` line per comparison.
#
# Needs: dnsperf, nsd, knot (Debian packages), taskset, a release build of
# examples/dns. Usage: bench/dnsperf.sh [--tcp] [SECONDS] [RUNS]
set -euo pipefail

MODE=udp
if [ "${1:-}" = "--tcp" ]; then MODE=tcp; shift; fi
SECS=${1:-10}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
for tool in dnsperf taskset; do
    command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done

WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/zones"

# The zone: 1000 hosts with A and AAAA, a wildcard, a delegation.
{
    echo '$TTL 3600'
    echo '@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300'
    echo '@ NS ns1'
    echo '@ NS ns2'
    echo 'ns1 A 192.0.2.1'
    echo 'ns2 A 192.0.2.2'
    echo '@ MX 10 mail'
    echo 'mail A 192.0.2.25'
    echo '*.wild A 192.0.2.99'
    echo 'sub NS ns.sub'
    echo 'ns.sub A 192.0.2.53'
    for i in $(seq 1 1000); do
        echo "host$i A 10.0.$((i / 256)).$((i % 256))"
        echo "host$i AAAA 2001:db8::$i"
    done
} > "$WORK/zones/example.com.zone"

# The queries: mostly positive answers, some NXDOMAIN, wildcard, NODATA and referrals.
{
    for i in $(seq 1 1000); do
        echo "host$i.example.com A"
        echo "host$i.example.com AAAA"
    done
    for i in $(seq 1 200); do echo "nx$i.example.com A"; done
    for i in $(seq 1 200); do echo "w$i.wild.example.com A"; done
    for i in $(seq 1 100); do echo "host$i.example.com MX"; done
    for i in $(seq 1 100); do echo "h$i.sub.example.com A"; done
} | shuf --random-source=<(yes) > "$WORK/queries.txt"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# CPU ticks (user + system) used by a process and all its descendants.
cpu_ticks() {
    local total
    # Fields after the parenthesised command name (which may hold spaces).
    total=$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')
    for child in $(pgrep -P "$1"); do
        total=$((total + $(cpu_ticks "$child")))
    done
    echo "$total"
}

# Runs dnsperf against PORT while measuring PID's CPU; prints "qps per_cpu_sec resp_size".
measure() {
    local port=$1 pid=$2 flags=()
    [ "$MODE" = tcp ] && flags=(-m tcp)
    local before after out
    before=$(cpu_ticks "$pid")
    out=$(taskset -c 0 dnsperf -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$SECS" -c 8 -Q 1000000 "${flags[@]}" 2>&1)
    after=$(cpu_ticks "$pid")
    local qps completed size
    qps=$(echo "$out" | awk '/Queries per second:/ {print $4}')
    completed=$(echo "$out" | awk '/Queries completed:/ {print $3}')
    size=$(echo "$out" | awk '/Average packet size:/ {print $7}')
    local hz; hz=$(getconf CLK_TCK)
    echo "$qps $(awk -v c="$completed" -v t=$((after - before)) -v hz="$hz" 'BEGIN { if (t == 0) print 0; else printf "%.0f", c / (t / hz) }') $size"
}

wait_port() {
    for _ in $(seq 1 100); do
        if dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" example.com SOA >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "server on port $1 did not come up" >&2
    return 1
}

# Prints "median min max" of the numbers on stdin.
stats() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}'; }

declare -A QPS CPU SIZE

run_server() {
    local name=$1 port=$2 pid=$3
    wait_port "$port"
    local q=() c=() s=""
    for _ in $(seq 1 "$RUNS"); do
        read -r qq cc ss < <(measure "$port" "$pid")
        q+=("$qq"); c+=("$cc"); s=$ss
    done
    QPS[$name]=$(printf '%s\n' "${q[@]}" | stats)
    CPU[$name]=$(printf '%s\n' "${c[@]}" | stats)
    SIZE[$name]=$s
    echo "$name ($MODE): qps median/min/max ${QPS[$name]}; queries per server CPU-second ${CPU[$name]}; avg response $s bytes"
}

# Ours.
OURS="$TARGET/release/dns"
[ -x "$OURS" ] || (cd "$ROOT" && cargo build --release -p dns)
P=$(free_port)
taskset -c 1 "$OURS" --address 127.0.0.1 --port "$P" --kv "zones=dir-ro:$WORK/zones" --log-level warn &
PID=$!
run_server mirage "$P" "$PID"
kill "$PID"; wait "$PID" 2>/dev/null || true

# NSD.
if command -v nsd >/dev/null; then
    P=$(free_port)
    mkdir -p "$WORK/nsd"
    cat > "$WORK/nsd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$P
    server-count: 1
    rrl-ratelimit: 0
    zonesdir: "$WORK/zones"
    pidfile: "$WORK/nsd/nsd.pid"
    database: ""
    zonelistfile: "$WORK/nsd/zone.list"
    xfrdfile: "$WORK/nsd/xfrd.state"
    xfrdir: "$WORK/nsd"
    username: ""
    verbosity: 0
    logfile: "$WORK/nsd/log"
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: example.com.zone
CONF
    taskset -c 1 nsd -d -c "$WORK/nsd/nsd.conf" &
    NPID=$!
    sleep 1
    run_server nsd "$P" "$NPID"
    kill "$NPID"; wait "$NPID" 2>/dev/null || true
else
    echo "SKIP: nsd is not installed"
fi

# Knot.
if command -v knotd >/dev/null; then
    P=$(free_port)
    mkdir -p "$WORK/knot"
    cat > "$WORK/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$P
    rundir: "$WORK/knot"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$WORK/knot"
log:
  - target: stderr
    any: error
zone:
  - domain: example.com
    file: "$WORK/zones/example.com.zone"
    journal-content: none
    zonefile-sync: -1
CONF
    taskset -c 1 knotd -c "$WORK/knot/knot.conf" &
    KPID=$!
    sleep 1
    taskset -a -p -c 1 "$KPID" >/dev/null
    run_server knot "$P" "$KPID"
    kill "$KPID"; wait "$KPID" 2>/dev/null || true
else
    echo "SKIP: knotd is not installed"
fi

for peer in nsd knot; do
    [ -n "${QPS[$peer]:-}" ] || continue
    read -r oq _ <<<"${QPS[mirage]}"; read -r pq _ <<<"${QPS[$peer]}"
    read -r oc _ <<<"${CPU[mirage]}"; read -r pc _ <<<"${CPU[$peer]}"
    echo "qps ($MODE): ours / $peer = $(awk -v a="$oq" -v b="$pq" 'BEGIN {printf "%.2f", a / b}')"
    echo "queries per CPU-second ($MODE): ours / $peer = $(awk -v a="$oc" -v b="$pc" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b}')  (avg response: ours ${SIZE[mirage]} B, $peer ${SIZE[$peer]} B)"
done
