#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# stock-kernel.sh SERIES: make the trixie build root
# (scripts/toolchain/trixie-root.sh) hold a stock kernel (STOCK_<SERIES>_*
# in scripts/toolchain/pins.env) as a Debian machine running it has it: its
# headers (linux-headers, -common, linux-kbuild) under /usr/src, its vmlinuz,
# config and module lists under /usr/lib/modules/RELEASE (linux-binary,
# linux-base), and its linux-source tarball under /usr/src, from the
# packages pinned with their checksums. Prints the root's path. The stock
# kernels share the root, as kernels share a machine.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

series=${1:?usage: stock-kernel.sh SERIES}
release=$(stock_var "$series" RELEASE)
pins=$(stock_var "$series" DEBS)
root=$("$FENCEBUF_ROOT/scripts/toolchain/trixie-root.sh" "$(stock_var "$series" ROOT toolchain)")
debs=$("$FENCEBUF_ROOT/scripts/kernel/fetch-stock-kernel.sh" "$series")
key=$(echo "$pins" | sha256sum | cut -c1-16)
mark=$root/.fencebuf-stock-$key
if [ ! -f "$mark" ]; then
	# Unpacked as dpkg would place them; no maintainer scripts run (they
	# would make an initramfs and update a boot loader).
	while read -r pin _; do
		[ -n "$pin" ] || continue
		with_progress "unpacking ${pin%%=*} into the build root" \
			dpkg-deb -x "$(ls "$debs/${pin%%=*}_${pin#*=}_"*.deb)" "$root"
	done <<<"$pins"
	touch "$mark"
fi
[ -f "$root/usr/lib/modules/$release/vmlinuz" ] ||
	die "no vmlinuz for $release in $root"
say "stock kernel $release: in $root"
echo "$root" >&3
