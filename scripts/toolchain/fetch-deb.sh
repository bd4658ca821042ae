#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch a Debian package and unpack it into the cache, without installing
# it on the host; print the unpacked root.
# Usage: fetch-deb.sh PACKAGE FILE   (FILE: a path the package must have)
# The install checks use two: udev (the guest runs systemd-udevd, so the
# rule `make install` installs is applied as on a user's machine) and dkms
# (its script builds the module from dkms.conf against the pinned kernel).
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2
pkg=$1
file=$2

candidate() { apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
ver=$(candidate)
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	as_root apt-get update -q >/dev/null || die "apt-get update failed"
	ver=$(candidate)
fi
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt knows no $pkg package"

dir=$FENCEBUF_CACHE/debs/$pkg/$ver
if [ ! -e "$dir/root/$file" ]; then
	say "fetching Debian's $pkg $ver (unpacked into $dir, not installed)"
	rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
	(cd "$dir" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
		die "apt-get download $pkg=$ver failed"
	dpkg-deb -x "$dir/${pkg}_"*.deb "$dir/root.tmp" || die "cannot unpack $dir/${pkg}_*.deb"
	mv "$dir/root.tmp" "$dir/root"
fi
[ -e "$dir/root/$file" ] || die "no $file in Debian's $pkg $ver"
echo "$dir/root" >&3
