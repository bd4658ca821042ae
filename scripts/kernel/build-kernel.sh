#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse) the pinned kernel for a config fragment.
# Usage: build-kernel.sh FRAGMENT   -> prints the build directory (a KDIR).
# The build directory is keyed by the pins and the fragment's contents, so a
# second call with nothing changed builds nothing.
. "$(dirname "$0")/../lib.sh"

frag=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$frag" ] || die "no config fragment $1"
name=$(basename "$frag" .config)
out=$FENCEBUF_CACHE/kernel/$name-$(kernel_key "$frag")

if [ -f "$out/.fencebuf-built" ]; then
	say "kernel $name: cached in $out"
	echo "$out"
	exit 0
fi

"$FENCEBUF_ROOT/scripts/toolchain/setup-toolchain.sh"
src=$("$FENCEBUF_ROOT/scripts/kernel/fetch-kernel.sh")
# A fragment that names patches builds from a copy of the source with them
# applied (hard links: patch replaces the files it changes, so the shared
# source stays as Debian ships it).
mapfile -t patches < <(kernel_patches "$frag")
if [ ${#patches[@]} -gt 0 ]; then
	psrc=$FENCEBUF_CACHE/src/$(basename "$out")
	rm -rf "$psrc"
	cp -al "$src" "$psrc"
	for p in "${patches[@]}"; do
		[ -f "$p" ] || die "$(basename "$frag") names a patch that does not exist: $p"
		patch -s -d "$psrc" -p1 <"$p" || die "$(basename "$p") does not apply to the pinned kernel"
		say "kernel $name: applied $(basename "$p")"
	done
	src=$psrc
fi
# shellcheck disable=SC2046
set -- -C "$src" O="$out" $(kmake_vars)
jobs=$(($(nproc) + 1))
rm -rf "$out"
mkdir -p "$out"
log=$out/build.log
say "kernel $name: building in $out (log: $log)"

make "$@" rustavailable >"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	die "the pinned Rust toolchain is not usable for this kernel (make rustavailable); run" \
		"scripts/toolchain/setup-toolchain.sh"
}

{
	make "$@" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
	make "$@" olddefconfig
} >>"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	die "kernel configuration failed"
}

# olddefconfig silently drops options whose dependencies are missing.
dropped=$(
	sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*=.*\)$/\1/p' "$frag" | while read -r line; do
		grep -qxF "$line" "$out/.config" || echo "  $line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$out/.config" || echo unset))"
	done
	sed -n -e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1/p' "$frag" | while read -r opt; do
		! grep -q "^$opt=" "$out/.config" || echo "  # $opt is not set (have: $(grep "^$opt=" "$out/.config"))"
	done
)
[ -z "$dropped" ] || die "$(basename "$frag") asks for options the final .config does not have:
$dropped"

logged "kernel $name: compiling with -j$jobs (about 10 min on 2 cores)" "$log.compile" \
	make "$@" -j"$jobs" all headers ||
	die "kernel build failed"
touch "$out/.fencebuf-built"
echo "$out"
