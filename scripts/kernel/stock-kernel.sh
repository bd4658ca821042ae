#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make the trixie build root (scripts/toolchain/trixie-root.sh) hold the stock kernel as a
# Debian 13 machine running it has it: its headers (linux-headers, -common,
# linux-kbuild) under /usr/src, its vmlinuz, config and module lists under
# /usr/lib/modules/STOCK_RELEASE (linux-binary, linux-base), and the
# linux-source tarball under /usr/src, from the packages pinned with their
# checksums in scripts/toolchain/pins.env. Prints the root's path.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

root=$("$FENCEBUF_ROOT/scripts/toolchain/trixie-root.sh")
debs=$("$FENCEBUF_ROOT/scripts/kernel/fetch-stock-kernel.sh")
"$FENCEBUF_ROOT/scripts/kernel/fetch-kernel.sh" >/dev/null
key=$({
	echo "$STOCK_DEBS"
	echo "$KERNEL_DEB_SHA256"
} | sha256sum | cut -c1-16)
mark=$root/.fencebuf-stock-$key
if [ ! -f "$mark" ]; then
	# Unpacked as dpkg would place them; no maintainer scripts run (they
	# would make an initramfs and update a boot loader).
	while read -r pin _; do
		[ -n "$pin" ] || continue
		dpkg-deb -x "$debs/${pin%%=*}_${pin#*=}_amd64.deb" "$root" ||
			die "cannot unpack ${pin%%=*} into $root"
	done <<<"$STOCK_DEBS"
	deb=$FENCEBUF_CACHE/download/${KERNEL_PKG}_${KERNEL_PKG_VERSION}_all.deb
	echo "$KERNEL_DEB_SHA256  $deb" | sha256sum -c --quiet ||
		die "sha256 of $deb is not the pinned one"
	with_progress "unpacking $KERNEL_PKG into the build root" dpkg-deb -x "$deb" "$root"
	touch "$mark"
fi
[ -f "$root/usr/lib/modules/$STOCK_RELEASE/vmlinuz" ] ||
	die "no vmlinuz for $STOCK_RELEASE in $root"
say "stock kernel $STOCK_RELEASE: in $root"
echo "$root" >&3
