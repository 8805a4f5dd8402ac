#!/usr/bin/env bash
# Builds examples/<name> as a Xen PVH guest image: target/xen/<name>.xen.
#
# Uses the installed stable toolchain for the host target: no extra rustup
# target and no build-std. The binary is `no_main` (feature `xen` of the
# example), compiled with panic=abort, static relocation, and linked without
# libc or start files by xen/pvh.ld at 1 MiB. A guest may be `no_std`
# (xen-hello) or use the prebuilt `std` (homepage, through mirage-xen-rt's
# `std` feature): `std` names libc and friends as link libraries, so empty
# archives stand in for them and mirage-xen-rt supplies the calls `std`
# makes; a symbol nobody supplies fails the link. `--target` is given
# explicitly so that RUSTFLAGS reach only the guest's crates, not build
# scripts or proc macros.
#
# Usage: xen/build-image.sh [name]   (default: xen-hello)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="${1:-xen-hello}"
host="$(rustc -vV | sed -n 's/^host: //p')"
case "$host" in
    x86_64-*) ;;
    *) echo "build-image.sh: PVH images need an x86_64 host toolchain, have $host" >&2; exit 1 ;;
esac
target_dir="${CARGO_TARGET_DIR:-$root/target}"
build_dir="$target_dir/xen-build"
out_dir="$root/target/xen"
mkdir -p "$out_dir"

# Empty stand-ins for the C libraries the prebuilt std asks the linker for.
nolibc="$build_dir/nolibc"
mkdir -p "$nolibc"
for lib in c m rt dl util pthread gcc_s; do
    [ -f "$nolibc/lib$lib.a" ] || ar rc "$nolibc/lib$lib.a"
done

export RUSTFLAGS="-L native=$nolibc -C relocation-model=static -C code-model=small \
 -C link-arg=-nostartfiles -C link-arg=-nostdlib -C link-arg=-static -C link-arg=-no-pie \
 -C link-arg=-Wl,-T,$root/xen/pvh.ld -C link-arg=-Wl,--build-id=none \
 -C link-arg=-Wl,-z,max-page-size=4096 -C link-arg=-Wl,-z,noexecstack"
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_OPT_LEVEL=s
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_DEBUG=0

elf="$build_dir/$host/release/$name"
# Cargo does not track the linker script: always relink.
rm -f "$elf" "$build_dir/$host/release/deps/${name//-/_}"-*
cargo build --manifest-path "$root/Cargo.toml" --release -p "$name" \
    --no-default-features --features xen --target "$host" --target-dir "$build_dir"
objcopy --strip-all "$elf" "$out_dir/$name.xen"
size=$(stat -c %s "$out_dir/$name.xen")
echo "build-image.sh: $out_dir/$name.xen ($size bytes, stripped)"
