#!/usr/bin/env bash
# Static files over HTTP/1.1: the static-site appliance (mirage-http on host
# sockets, site from a directory) against nginx serving the same directory,
# side by side, as shared/BENCHMARKS.md describes:
#   server on core 1, wrk on core 0, wrk -t1 -c64 -d${SECS}s, RUNS runs each,
#   1 KiB and 100 KiB files (FILES="1k.html 100k.html 1m.html" adds 1 MiB);
#   median req/s, spread, requests per server CPU-second, peak RSS, and the
#   ratio ours / nginx.
# Needs: wrk, nginx, taskset (Debian: wrk nginx-light util-linux).
# BEFORE_BIN=path/to/an/older/static-site adds that build (directory store)
# to the same run, for before/after comparisons on a noisy machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${SECS:-10}
RUNS=${RUNS:-3}
OURS_PORT=${OURS_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
MEM_PORT=${MEM_PORT:-18082}
BEFORE_PORT=${BEFORE_PORT:-18083}
PLAIN_PORT=${PLAIN_PORT:-18084}
BEFORE_BIN=${BEFORE_BIN:-}
# The files measured: 1k.html, 100k.html and 1m.html (1 MiB, larger than
# the site's in-memory cache takes) are served.
FILES=${FILES:-1k.html 100k.html}
for tool in wrk nginx taskset; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done

target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p static-site
bin="$target/release/static-site"

work=$(mktemp -d)
# mktemp makes the directory 0700; started by root, nginx's worker runs as
# nobody and would answer every request 403 Forbidden (a small error page,
# not the file) unless it may enter the directory.
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/site"
head -c 1024 /dev/urandom | base64 -w 76 | head -c 1024 > "$work/site/1k.html"
head -c 102400 /dev/urandom | base64 -w 76 | head -c 102400 > "$work/site/100k.html"
# Written whole, then cut: a `| head -c` would stop base64 early (SIGPIPE),
# which pipefail turns into the end of the script.
head -c 786432 /dev/urandom | base64 -w 76 > "$work/site/1m.html"
truncate -s 1048576 "$work/site/1m.html"

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000;
    types { text/html html; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $work/site;
    }
}
CONF

taskset -c 1 "$bin" --kv "site=dir-ro:$work/site" --listen "127.0.0.1:$OURS_PORT" \
    --log-level warn 2>"$work/ours.log" &
ours=$!
pids+=("$ours")
# The same appliance with the site preloaded into memory (--preload): the
# HTTP server alone, without the directory store's per-request file lookups.
taskset -c 1 "$bin" --kv "site=dir-ro:$work/site" --listen "127.0.0.1:$MEM_PORT" \
    --log-level warn --preload 2>"$work/mem.log" &
mem=$!
pids+=("$mem")
# The nginx configuration below serves no precompressed siblings; this run
# of the appliance does not look for them either (--no-gzip-static), so
# both do the same work per request. The default run above also looks up
# NAME.gz for every file (as nginx's `gzip_static on; gzip_vary on;`).
taskset -c 1 "$bin" --kv "site=dir-ro:$work/site" --listen "127.0.0.1:$PLAIN_PORT" \
    --log-level warn --no-gzip-static 2>"$work/plain.log" &
plain=$!
pids+=("$plain")
if [ -n "$BEFORE_BIN" ]; then
    taskset -c 1 "$BEFORE_BIN" --kv "site=dir-ro:$work/site" --listen "127.0.0.1:$BEFORE_PORT" \
        --log-level warn 2>"$work/before.log" &
    before=$!
    pids+=("$before")
fi
taskset -c 1 nginx -c "$work/nginx.conf" &
nginx=$!
pids+=("$nginx")

ports=("$OURS_PORT" "$MEM_PORT" "$PLAIN_PORT" "$NGINX_PORT")
[ -n "$BEFORE_BIN" ] && ports+=("$BEFORE_PORT")
for port in "${ports[@]}"; do
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/1k.html" && break
        sleep 0.1
    done
    # Every server must answer 200 with the whole file, or the figures
    # would compare different work.
    for file in $FILES; do
        got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/$file" || true)
        want="200 $(stat -c %s "$work/site/$file")"
        if [ "$got" != "$want" ]; then
            echo "port $port, $file: expected '$want' (status, bytes), got '$got'" >&2
            exit 1
        fi
    done
done

# utime + stime of a process and its threads, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# nginx's worker is the child of the master.
nginx_worker=$(pgrep -P "$nginx" | head -1)
hz=$(getconf CLK_TCK)

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
spread() { sort -g | awk 'NR==1{min=$1} {max=$1} END {printf "%.0f-%.0f", min, max}'; }

measure() { # name pid port file -> lines "rps per_cpu_second"
    local pid=$2 port=$3 file=$4
    for _ in $(seq "$RUNS"); do
        local before after out rps reqs
        before=$(cpu_ticks "$pid")
        out=$(taskset -c 0 wrk -t1 -c64 -d"${SECS}s" "http://127.0.0.1:$port/$file")
        after=$(cpu_ticks "$pid")
        if grep -q 'Non-2xx' <<<"$out"; then
            echo "$1, $file: wrk saw error responses:" >&2
            echo "$out" >&2
            exit 1
        fi
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        awk -v r="$rps" -v n="$reqs" -v t=$((after - before)) -v hz="$hz" \
            'BEGIN {printf "%s %.0f\n", r, (t > 0) ? n / (t / hz) : 0}'
    done
}

report() { # label file results-of-ours results-of-nginx
    local label=$1 file=$2 o=$3 n=$4 o_rps n_rps o_cpu n_cpu
    o_rps=$(cut -d' ' -f1 <<<"$o" | median)
    n_rps=$(cut -d' ' -f1 <<<"$n" | median)
    o_cpu=$(cut -d' ' -f2 <<<"$o" | median)
    n_cpu=$(cut -d' ' -f2 <<<"$n" | median)
    echo "$file: $label $o_rps req/s (runs $(cut -d' ' -f1 <<<"$o" | spread)), $o_cpu req per server CPU-s (runs $(cut -d' ' -f2 <<<"$o" | tr '\n' ' '| sed 's/ $//'))"
    awk -v a="$o_rps" -v b="$n_rps" -v c="$o_cpu" -v d="$n_cpu" -v f="$file" -v l="$label" \
        'BEGIN {printf "%s: %s / nginx = %.2f (req/s), %.2f (req per server CPU-s)\n", f, l, a / b, c / d}'
}

for file in $FILES; do
    o=$(measure ours "$ours" "$OURS_PORT" "$file")
    m=$(measure mem "$mem" "$MEM_PORT" "$file")
    p=$(measure plain "$plain" "$PLAIN_PORT" "$file")
    n=$(measure nginx "$nginx_worker" "$NGINX_PORT" "$file")
    echo "$file: nginx $(cut -d' ' -f1 <<<"$n" | median) req/s (runs $(cut -d' ' -f1 <<<"$n" | spread)), $(cut -d' ' -f2 <<<"$n" | median) req per server CPU-s (runs $(cut -d' ' -f2 <<<"$n" | tr '\n' ' ' | sed 's/ $//'))"
    report "ours (directory)" "$file" "$o" "$n"
    report "ours (--preload)" "$file" "$m" "$n"
    report "ours (directory, --no-gzip-static)" "$file" "$p" "$n"
    if [ -n "$BEFORE_BIN" ]; then
        b=$(measure before "$before" "$BEFORE_PORT" "$file")
        report "before (directory)" "$file" "$b" "$n"
    fi
done
echo "peak RSS: ours $(awk '/VmHWM/ {print $2, $3}' "/proc/$ours/status"), ours --no-gzip-static $(awk '/VmHWM/ {print $2, $3}' "/proc/$plain/status"), ours --preload $(awk '/VmHWM/ {print $2, $3}' "/proc/$mem/status"), nginx worker $(awk '/VmHWM/ {print $2, $3}' "/proc/$nginx_worker/status")"
