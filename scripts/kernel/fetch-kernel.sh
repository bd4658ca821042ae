#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the pinned kernel source (scripts/toolchain/pins.env) into the cache and unpack it.
# apt runs with a private state (scripts/lib.sh private_apt), so the system's apt
# configuration and package database are never touched.
# Prints the source directory.
. "$(dirname "$0")/../lib.sh"

src=$(kernel_src_dir)
if [ -f "$src/.fencebuf-verified" ]; then
	echo "$src"
	exit 0
fi

dl=$FENCEBUF_CACHE/download
deb=$dl/${KERNEL_PKG}_${KERNEL_PKG_VERSION}_all.deb
mkdir -p "$dl"

verify_deb() {
	[ -f "$deb" ] && echo "$KERNEL_DEB_SHA256  $deb" | sha256sum -c --quiet >/dev/null 2>&1
}

if ! verify_deb; then
	private_apt kernel-source "$KERNEL_PKG_SUITE"
	say "fetching $KERNEL_PKG $KERNEL_PKG_VERSION from $KERNEL_PKG_SUITE (private apt state" \
		"in $FENCEBUF_CACHE/apt)"
	apt-get -q "${PAPT[@]}" update >"$dl/apt-update.log" 2>&1 ||
		die "apt-get update for $KERNEL_PKG_SUITE failed, see $dl/apt-update.log. Supply" \
			"the kernel yourself: put $(basename "$deb") in $dl/"
	(cd "$dl" && apt-get -q "${PAPT[@]}" download "$KERNEL_PKG=$KERNEL_PKG_VERSION") >"$dl/apt-download.log" 2>&1 ||
		die "could not download $KERNEL_PKG=$KERNEL_PKG_VERSION, see" \
			"$dl/apt-download.log. Supply it yourself: put $(basename "$deb") in $dl/"
	# apt-get download escapes ':' and '~' differently across versions.
	got=$(ls "$dl"/"${KERNEL_PKG}"_*_all.deb 2>/dev/null | head -n1)
	[ -n "$got" ] || die "apt-get download produced no .deb in $dl"
	[ "$got" = "$deb" ] || mv "$got" "$deb"
	verify_deb || die "sha256 of $deb is not $KERNEL_DEB_SHA256: refusing to use it"
fi
say "verified $(basename "$deb")"

tmp=$dl/extract
rm -rf "$tmp"
mkdir -p "$tmp"
dpkg-deb -x "$deb" "$tmp"
echo "$KERNEL_TARBALL_SHA256  $tmp/$KERNEL_TARBALL" | sha256sum -c --quiet ||
	die "sha256 of $KERNEL_TARBALL is not $KERNEL_TARBALL_SHA256"
rm -rf "$src" "$src.tmp"
mkdir -p "$src.tmp"
with_progress "unpacking $(basename "$KERNEL_TARBALL")" \
	tar -C "$src.tmp" --strip-components=1 -xJf "$tmp/$KERNEL_TARBALL"
rm -rf "$tmp"
mv "$src.tmp" "$src"
touch "$src/.fencebuf-verified"
echo "$src"
