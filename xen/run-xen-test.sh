#!/usr/bin/env bash
# Boots a PVH guest image under real Xen 4.17 (Debian's hypervisor) with a
# Debian bookworm dom0, all inside QEMU with TCG, and checks the guest's
# console output (its port-0xE9 lines reach the serial log as "(d1) ...")
# and that it shut down cleanly. Exits non-zero on any failure.
#
# Usage: xen/run-xen-test.sh [image]   (default: target/xen/xen-hello.xen)
#
# The guest-specific part runs in dom0 from xen/dom0/test-NAME.sh (NAME: the
# image's name, xen-hello or homepage). For the homepage, dom0 serves a Git
# repository made from xen/dom0/site over git:// for the guest to clone.
# Env:
#   MIRAGE_XEN_CACHE   cache directory (default target/xen-cache): the Xen
#                      ELF, dom0 kernel, initrd and root filesystem image.
#                      Built once (needs root for debootstrap), then reused.
#   MIRAGE_XEN_MIRROR  Debian mirror (default: the first apt source).
#   MIRAGE_XEN_TIMEOUT whole QEMU run limit in seconds (default 600).
# Needs: qemu-system-x86, debootstrap, e2fsprogs (mkfs.ext4 -d), apt-get,
# and git (for the homepage's repository).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${1:-$root/target/xen/xen-hello.xen}"
cache="${MIRAGE_XEN_CACHE:-$root/target/xen-cache}"
timeout_s="${MIRAGE_XEN_TIMEOUT:-600}"
# Bump when the dom0 package list or xen-ci-init changes: forces a rebuild.
dom0_version="3"
packages="xen-utils-4.17,xenstore-utils,iproute2,linux-image-amd64,kmod,busybox-static,procps,bridge-utils,curl,dnsutils,git,dnsmasq-base"

say() { echo "run-xen-test: $*"; }
die() { echo "run-xen-test: FAIL: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 0; }
[ -f "$image" ] || die "no image $image (run xen/build-image.sh)"
mkdir -p "$cache"
t_start=$(date +%s)

build_cache() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: building the dom0 image needs root (debootstrap)"; exit 0; }
    command -v debootstrap >/dev/null || { echo "SKIP: debootstrap not installed"; exit 0; }
    local mirror="${MIRAGE_XEN_MIRROR:-}"
    if [ -z "$mirror" ]; then
        mirror=$(grep -hs -m1 '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true)
        [ -n "$mirror" ] || mirror=$(grep -hs -m1 '^deb ' /etc/apt/sources.list | awk '{print $2}' || true)
        mirror="${mirror:-http://deb.debian.org/debian}"
    fi
    local work="$cache/work"
    rm -rf "$work" && mkdir -p "$work"
    say "downloading xen-hypervisor-4.17-amd64"
    (cd "$work" && apt-get download -q -o APT::Sandbox::User=root xen-hypervisor-4.17-amd64 >/dev/null)
    dpkg-deb -x "$work"/xen-hypervisor-4.17-amd64_*.deb "$work/xenpkg"
    zcat "$work"/xenpkg/boot/xen-4.17-amd64.gz > "$work/xen.elf"
    say "debootstrap bookworm dom0 from $mirror"
    local t0=$(date +%s)
    debootstrap --variant=minbase --include="$packages" bookworm "$work/root" "$mirror" \
        > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
    say "debootstrap took $(( $(date +%s) - t0 )) s"
    cp "$work"/root/boot/vmlinuz-* "$work/vmlinuz"
    cp "$work"/root/boot/initrd.img-* "$work/initrd.img"
    install -m755 "$root/xen/dom0/xen-ci-init" "$work/root/sbin/xen-ci-init"
    rm -rf "$work"/root/var/cache/apt/archives/*.deb
    truncate -s 1536M "$work/dom0.img"
    mkfs.ext4 -q -F -d "$work/root" "$work/dom0.img"
    mv "$work/xen.elf" "$work/vmlinuz" "$work/initrd.img" "$work/dom0.img" "$cache/"
    rm -rf "$work"
    echo "$dom0_version" > "$cache/dom0.version"
}

if [ "$(cat "$cache/dom0.version" 2>/dev/null)" != "$dom0_version" ] \
    || [ ! -f "$cache/dom0.img" ] || [ ! -f "$cache/xen.elf" ]; then
    build_cache
    say "dom0 cache built in $(( $(date +%s) - t_start )) s"
else
    say "using cached dom0 in $cache"
fi

# The payload disk: the guest image, its xl config and the dom0 test script.
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
name="$(basename "$image" .xen)"
mkdir "$run/payload"
cp "$image" "$run/payload/"
cp "$root/xen/dom0/init.sh" "$run/payload/init.sh"
[ -f "$root/xen/dom0/test-$name.sh" ] || die "no dom0 test script xen/dom0/test-$name.sh"
cp "$root/xen/dom0/test-$name.sh" "$run/payload/test.sh"
cmdline="ipv4=10.9.0.2/24 gateway=10.9.0.1"
memory=32
disk=""
if [ "$name" = xen-hello ]; then
    # xen-hello gets its address from dom0's DHCP server (which hands out
    # 10.9.0.2 only); the homepage's is static, so that its boot figures
    # do not include DHCP's exchange.
    cmdline="ipv4=dhcp"
    # A 1 MiB disk whose first sector names it; dom0 copies it to /tmp
    # (the payload is read-only) and the guest reads and writes it.
    truncate -s 1M "$run/payload/disk.img"
    printf 'mirage-rs test disk' | dd of="$run/payload/disk.img" conv=notrunc status=none
    disk='disk = [ "format=raw, vdev=xvda, access=rw, target=/tmp/disk.img" ]'
fi
if [ "$name" = homepage ]; then
    command -v git >/dev/null || die "git is needed to make the homepage's repository"
    # The remote is named: dom0's dnsmasq answers git.example.test, and the
    # guest's stub resolver asks it (resolver=).
    cmdline="$cmdline remote=git://git.example.test/site.git#main resolver=10.9.0.1 poll=2"
    memory=128
    git init -q -b main "$run/site"
    cp -r "$root/xen/dom0/site/." "$run/site/"
    git -C "$run/site" add -A
    git -C "$run/site" -c user.name=harness -c user.email=harness@example.org \
        commit -qm "Site and zone served by the Xen guest"
    git clone -q --bare "$run/site" "$run/payload/site.git"
fi
sed -e "s|@NAME@|$name|" -e "s|@IMAGE@|$(basename "$image")|" \
    -e "s|@CMDLINE@|$cmdline|" -e "s|@MEMORY@|$memory|" -e "s|@DISK@|$disk|" \
    "$root/xen/dom0/guest.cfg.in" > "$run/payload/guest.cfg"
truncate -s 32M "$run/payload.img"
mkfs.ext4 -q -F -d "$run/payload" "$run/payload.img"

log="${MIRAGE_XEN_LOG:-$root/target/xen/boot.log}"
mkdir -p "$(dirname "$log")"
say "booting Xen in QEMU (TCG), serial log in $log"
t_boot=$(date +%s)
status=0
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max,-smap -m 3072 -smp 2 \
    -nographic -no-reboot -kernel "$cache/xen.elf" \
    -append "console=com1 com1=115200 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all console_timestamps=boot" \
    -initrd "$cache/vmlinuz root=/dev/vda rw console=hvc0 earlyprintk=xen init=/sbin/xen-ci-init,$cache/initrd.img" \
    -drive "file=$cache/dom0.img,if=virtio,format=raw,snapshot=on" \
    -drive "file=$run/payload.img,if=virtio,format=raw,readonly=on" \
    </dev/null >"$log" 2>&1 || status=$?
boot_s=$(( $(date +%s) - t_boot ))
# The log without carriage returns, read as a file (a `grep -q` at the end
# of a pipe would stop early and, under pipefail, fail the pipe it matched).
clean="$run/boot.clean.log"
tr -d '\r' < "$log" > "$clean"
grep -E '^\(d[0-9]+\)|XENTEST:' "$clean" | sed 's/^/  | /' || true

fail=0
expect() {
    if grep -qE -- "$1" "$clean"; then echo "ok: $2"; else echo "FAIL: $2 (no match for /$1/)"; fail=1; fi
}
expect 'XENTEST: dom0 ready' "dom0 started the Xen daemons"
expect 'XENTEST: xl create (ok|exited with status [0-9]+ but domain .* exists)' "xl create"
if grep -q 'XENTEST: xl create exited' "$clean"; then
    echo "warning: xl exited non-zero although the domain was created (see the log)"
fi
expect '\(d[0-9]+\).*mirage-xen-rt: PVH entry' "guest reached Rust"
expect '\(d[0-9]+\).*mirage-xen-rt: Xen 4\.17' "guest found Xen, installed the hypercall page and timer"
if [ "$name" = xen-hello ]; then
    expect '\(d[0-9]+\).*xen-hello: xenstore says name=xen-hello' "guest read XenStore (grant table, event channel upcalls)"
    expect 'XENTEST: pv console: xen-hello: hello on the Xen PV console' "guest wrote to the Xen PV console (xenconsoled log)"
    expect '\(d[0-9]+\).*xen-hello: tick 3 after' "guest timers (single-shot timer + block)"
    expect '\(d[0-9]+\).*xen-hello: disk 51712: 2048 sectors of 512 bytes, read-write true, sector 0 says "mirage-rs test disk"' "guest blkfront read the disk through blkback"
    expect '\(d[0-9]+\).*xen-hello: disk 51712: sector 2047 written, flushed and read back' "guest blkfront wrote, flushed and read back a sector"
    expect 'XENTEST: disk last sector written by the guest' "dom0 sees the guest's write in the disk file"
    expect '\(d[0-9]+\).*mirage-xen-rt: netfront vif/0 connected' "guest netfront connected to netback"
    expect '\(d[0-9]+\).*IPv4 10\.9\.0\.2/24 from DHCP, gateway Some\(10\.9\.0\.1\)' "guest got its address from dom0's DHCP server"
    expect 'XENTEST: udp echo answered' "dom0 got the UDP echo back over the bridge"
    expect 'XENTEST: ping ok' "guest answered ping"
    expect 'XENTEST: http ok' "dom0 fetched the page over HTTP (TCP over netfront)"
    expect '\(d[0-9]+\).*xen-hello: quit from' "guest got the quit datagram"
fi
if [ "$name" = homepage ]; then
    expect '\(d[0-9]+\).*thread-local storage' "guest set up thread-local storage for std"
    expect '\(d[0-9]+\).*homepage: configured in [0-9.]+[nmµ]?s, wall clock 1[7-9][0-9]{8} s since the epoch' "std::time reads Xen's clocks (clock_gettime)"
    expect '\(d[0-9]+\).*netfront vif/0 connected' "guest netfront connected to netback"
    expect '\(d[0-9]+\).*homepage: remote git://git\.example\.test/site\.git is git://10\.9\.0\.1:9418/site\.git' "guest resolved git.example.test through dom0's DNS server"
    expect '\(d[0-9]+\).*serving commit [0-9a-f]+ of "main"' "guest cloned git://git.example.test/site.git over netfront"
    expect 'XENTEST: first dns answer [0-9]+ ms after xl create: ns1\.example\.org\. hostmaster\.example\.org\. 2026112501' "dig @guest SOA (UDP)"
    expect 'XENTEST: dns udp www\.example\.org A: example\.org\. 10\.9\.0\.2$' "dig @guest www A: CNAME and address"
    expect 'XENTEST: dns tcp example\.org TXT: "served by a mirage-rs Xen guest"' "dig +tcp @guest TXT"
    expect 'XENTEST: dns nothing\.example\.org: NXDOMAIN' "dig @guest NXDOMAIN"
    expect 'XENTEST: http ok' "curl http://guest/ got the page from the repository"
    expect 'XENTEST: http missing page status 404' "curl of a missing page: 404"
    expect 'XENTEST: push served' "a git push to dom0's repository reached the guest's site"
    expect 'XENTEST: xl shutdown ok' "xl shutdown (XenStore control/shutdown)"
fi
expect '\(d[0-9]+\).*powering off' "guest application finished"
expect 'XENTEST: guest state shutdown' "guest shut down cleanly (not crashed)"
[ "$status" = 0 ] || { echo "FAIL: QEMU exited with status $status"; fail=1; }
# Guest-side timings from Xen's console timestamps ("(d1) [seconds] ...").
ts() { grep -m1 -E "^\(d[0-9]+\) \[ *[0-9.]+\] .*$1" "$clean" | sed -E 's/^\(d[0-9]+\) \[ *([0-9.]+)\].*/\1/' || true; }
t_entry=$(ts 'mirage-xen-rt: PVH entry')
for mark in 'mirage-xen-rt: Xen 4' 'xenstore says' 'netfront vif/0 connected' 'from DHCP' 'UDP echo on port' 'serving commit'; do
    t=$(ts "$mark")
    if [ -n "$t_entry" ] && [ -n "$t" ]; then
        say "guest: PVH entry -> '$mark': $(echo "$t $t_entry" | awk '{printf "%.1f", ($1 - $2) * 1000}') ms"
    fi
done
say "image $(stat -c %s "$image") bytes (stripped); QEMU run ${boot_s} s; total $(( $(date +%s) - t_start )) s"
sed -n 's/.*XENTEST: \(xl create .*\|udp echo answered .*\|http ok .*\|first dns answer .*\|push served .*\|guest state .*\)/  \1/p' "$clean"
exit "$fail"
