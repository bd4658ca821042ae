#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run a command inside a root made by scripts/toolchain/trixie-root.sh, with
# this project, fencebuf's cache and /dev at their own paths (and the
# directories of FENCEBUF_ROOT_BINDS, space-separated), so that paths mean
# the same inside and out. Everything is mounted in a private mount
# namespace: nothing stays mounted on the host when the command ends. The
# command replaces this script's process (same pid).
# Usage: in-root.sh ROOT CMD...
. "$(dirname "$0")/../lib.sh"

root=$1
shift
[ -f "$root/.fencebuf-built" ] || die "$root is not a build root made by" \
	"scripts/toolchain/trixie-root.sh"
binds=("$FENCEBUF_ROOT" "$FENCEBUF_CACHE")
for d in ${FENCEBUF_ROOT_BINDS:-}; do
	[ -d "$d" ] || die "FENCEBUF_ROOT_BINDS: $d is no directory"
	binds+=("$(realpath "$d")")
done
[ "$(id -u)" -eq 0 ] || die "entering the build root needs root (chroot)"
mkdir -p "$FENCEBUF_CACHE"
export FENCEBUF_ROOT FENCEBUF_CACHE
exec unshare --mount --propagation private -- bash -c '
	set -e
	root=$1 nbinds=$2
	shift 2
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	for d in "${@:1:$nbinds}"; do
		mkdir -p "$root$d"
		mount --bind "$d" "$root$d"
	done
	shift "$nbinds"
	exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		FENCEBUF_CACHE="$FENCEBUF_CACHE" "$@"
' in-root "$root" "${#binds[@]}" "${binds[@]}" "$@"
