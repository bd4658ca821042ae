#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make (or reuse) the Debian 13 build root in which the stock kernel's own
# toolchain runs on a host that cannot run it (Debian 12: trixie's rustc
# needs glibc 2.38). Prints the root's path.
#
# mmdebstrap builds it from TRIXIE_SUITES of the system's Debian archive
# (scripts/lib.sh debian_mirror) with every package of TRIXIE_PKGS at its pinned
# version; the host's apt configuration is not changed. The root is keyed by
# those pins, so a second call with nothing changed does nothing.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

key=$({
	echo "$TRIXIE_SUITES"
	echo "$TRIXIE_PKGS"
} | sha256sum | cut -c1-16)
root=$FENCEBUF_CACHE/trixie-root/$key
if [ -f "$root/.fencebuf-built" ]; then
	say "trixie build root: cached in $root"
	echo "$root" >&3
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "making the trixie build root needs root (mmdebstrap, chroot)"

missing=
for p in $TRIXIE_HOST_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=" $p"
done
if [ -n "$missing" ]; then
	say "installing Debian packages:$missing"
	apt-get update -q >/dev/null || die "apt-get update failed"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing ||
		die "could not install$missing"
fi

mirror=$(debian_mirror)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
sources=()
for suite in $TRIXIE_SUITES; do
	sources+=("deb [signed-by=$keyring] $mirror $suite main")
done
include=$(echo $TRIXIE_PKGS | tr ' ' ,)
# Roots of earlier pins are of no further use: 1.7 GB each.
rm -rf "$FENCEBUF_CACHE/trixie-root"
mkdir -p "$(dirname "$root")"
log=$FENCEBUF_CACHE/trixie-root/$key.log
say "trixie build root: $(echo $TRIXIE_PKGS | wc -w) pinned packages from $mirror ($TRIXIE_SUITES)"
logged "mmdebstrap of the trixie build root (about 4 min, 1.7 GB)" "$log" \
	mmdebstrap --variant=apt --include="$include" \
	--keyring="$keyring" trixie "$root.tmp" "${sources[@]}" ||
	die "mmdebstrap failed (log: $log). A pinned version that the archive no longer has shows" \
		"as 'Version ... not found': update TRIXIE_PKGS in scripts/toolchain/pins.env"

# Every pinned package at its pinned version, nothing newer.
bad=
for pin in $TRIXIE_PKGS; do
	have=$(chroot "$root.tmp" dpkg-query -W -f='${Version}' "${pin%%=*}" 2>/dev/null || true)
	[ "$have" = "${pin#*=}" ] || bad+=" ${pin%%=*} (have '${have:-none}', pinned ${pin#*=})"
done
[ -z "$bad" ] || die "the trixie build root does not have the pinned versions:$bad"
touch "$root.tmp/.fencebuf-built"
mv "$root.tmp" "$root"
say "trixie build root: $root"
echo "$root" >&3
