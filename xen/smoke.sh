#!/usr/bin/env bash
# Boots a PVH image under plain QEMU (no Xen) and checks that it reaches
# Rust, parses hvm_start_info (command line, memory map), sets up its heap,
# sees that no Xen is present and exits through isa-debug-exit; then that a
# panic and a CPU exception are reported and end the guest.
#
# Usage: xen/smoke.sh [image]   (default: target/xen/xen-hello.xen)
# Env:   MIRAGE_XEN_ACCEL=kvm|tcg forces an accelerator. By default KVM is
#        tried when /dev/kvm is usable and TCG is used when KVM cannot run
#        the guest (some nested KVM hosts stop at the first SSE instruction
#        with "KVM internal error").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${1:-$root/target/xen/xen-hello.xen}"
if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "SKIP: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
    exit 0
fi
[ -f "$image" ] || { echo "smoke.sh: no image $image (run xen/build-image.sh)" >&2; exit 1; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cmdline="smoke=1 ipv4=10.0.0.2/24"

boot() { # accel timeout
    local status=0
    timeout "$2" qemu-system-x86_64 -accel "$1" -m 128 -kernel "$image" -append "$cmdline" \
        -nographic -no-reboot -serial none -monitor none -debugcon stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 >"$log" 2>&1 </dev/null || status=$?
    echo "$status"
}

accel="${MIRAGE_XEN_ACCEL:-}"
start=$(date +%s%N)
if [ -z "$accel" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    status=$(boot kvm 10)
    if [ "$status" = 33 ]; then
        accel=kvm
    else
        echo "smoke.sh: KVM could not run the guest (status $status):"
        grep -m3 -E 'KVM|error' "$log" | sed 's/^/  /' || true
        echo "smoke.sh: falling back to TCG"
        accel=tcg
        start=$(date +%s%N)
        status=$(boot tcg 60)
    fi
else
    accel="${accel:-tcg}"
    status=$(boot "$accel" 60)
fi
ms=$(( ($(date +%s%N) - start) / 1000000 ))
sed 's/^/  | /' "$log"

fail=0
expect() {
    if grep -qF -- "$1" "$log"; then echo "ok: $1"; else echo "FAIL: missing '$1'"; fail=1; fi
}
expect "mirage-xen-rt: PVH entry, hvm_start_info at"
expect "command line \"$cmdline\""
expect "mirage-xen-rt: memory 0x0000100000-"
expect "MiB)"
expect "mirage-xen-rt: heap check ok"
expect "mirage-xen-rt: no Xen"
if [ "$status" = 33 ]; then
    echo "ok: exit through isa-debug-exit (QEMU status 33)"
else
    echo "FAIL: QEMU status $status, expected 33"
    fail=1
fi
# Failures end the guest too: a panic, a CPU exception and a stack overflow
# (caught by the guard page), each reported on the console and ending QEMU
# through isa-debug-exit with status 35.
for case in "panic:panicked at" "fault:CPU exception 6 (invalid opcode)" \
    "overflow:stack overflow (the boot stack's guard page"; do
    cmdline="mirage.selftest=${case%%:*}"
    status=$(boot "$accel" 60)
    if [ "$status" = 35 ] && grep -qF -- "${case#*:}" "$log"; then
        echo "ok: $cmdline reported '${case#*:}' and exited with status 35"
    else
        echo "FAIL: $cmdline: status $status, output:"
        sed 's/^/  | /' "$log"
        fail=1
    fi
done
echo "smoke.sh: $(basename "$image") $(stat -c %s "$image") bytes, accel $accel, boot to exit ${ms} ms"
exit "$fail"
