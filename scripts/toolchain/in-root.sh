#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run a command inside a build root (scripts/toolchain/trixie-root.sh), with this project
# and fencebuf's cache at their own paths, so that paths mean the same inside
# and out. Everything is mounted in a private mount namespace: nothing stays
# mounted on the host when the command ends.
# Usage: in-root.sh ROOT CMD...
. "$(dirname "$0")/../lib.sh"

root=$1
shift
[ -f "$root/.fencebuf-built" ] || die "$root is not a build root made by" \
	"scripts/toolchain/trixie-root.sh"
[ "$(id -u)" -eq 0 ] || die "entering the build root needs root (chroot)"
mkdir -p "$FENCEBUF_CACHE"
export FENCEBUF_ROOT FENCEBUF_CACHE
exec unshare --mount --propagation private -- bash -c '
	set -e
	root=$1
	shift
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	for d in "$FENCEBUF_ROOT" "$FENCEBUF_CACHE"; do
		mkdir -p "$root$d"
		mount --bind "$d" "$root$d"
	done
	exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		FENCEBUF_CACHE="$FENCEBUF_CACHE" "$@"
' in-root "$root" "$@"
