#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make (or reuse) a Debian root for what a Debian 12 host cannot run
# itself; prints the root's path.
# Usage: trixie-root.sh [toolchain|qemu|packaging|distro]
#   toolchain (default): the stock kernels' own toolchain (trixie's rustc
#              needs glibc 2.38), TRIXIE_PKGS
#   qemu:      the pinned QEMU every guest runs on, QEMU_PKGS
#   packaging: Debian's packaging tools (make deb), PACKAGING_PKGS
#   user:      a Debian 13 machine with the stock kernel's headers, where
#              make deb-check installs the package, USER_ROOT_PKGS
#   distro:    the toolchain of the kernel scripts/test/distro-check.sh resolved in
#              the suite FENCEBUF_DISTRO_SUITE: FENCEBUF_DISTRO_PKGS, names
#              without versions (FENCEBUF_DISTRO_KEY says when to remake it)
#
# mmdebstrap builds it from the suites of the system's Debian archive
# (scripts/lib.sh debian_mirror) with every package of the list at its pinned
# version; the host's apt configuration is not changed. The root is keyed by
# those pins, so a second call with nothing changed does nothing.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

kind=${1:-toolchain}
dist=trixie suites=$TRIXIE_SUITES extra_key= aptopts=()
case $kind in
toolchain) name=trixie-root pkgs=$TRIXIE_PKGS ;;
qemu) name=qemu-root pkgs=$QEMU_PKGS ;;
packaging) name=packaging-root pkgs=$PACKAGING_PKGS ;;
user) name=user-root pkgs=$USER_ROOT_PKGS ;;
distro)
	dist=${FENCEBUF_DISTRO_SUITE:?} suites=$dist name=$dist-root pkgs=${FENCEBUF_DISTRO_PKGS:?}
	extra_key=${FENCEBUF_DISTRO_KEY:-}
	# A moving suite's Release file expires within days; on a snapshot of
	# the archive it has. Its signature is still checked.
	aptopts=(--aptopt='Acquire::Check-Valid-Until "false"')
	;;
*) die "trixie-root.sh: toolchain, qemu, packaging, user or distro, not '$kind'" ;;
esac
key=$({
	echo "$suites"
	echo "$pkgs"
	[ -z "$extra_key" ] || echo "$extra_key"
} | sha256sum | cut -c1-16)
root=$FENCEBUF_CACHE/$name/$key
if [ -f "$root/.fencebuf-built" ]; then
	say "$name: cached in $root"
	echo "$root" >&3
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "making the $name needs root (mmdebstrap, chroot)"

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
for suite in $suites; do
	sources+=("deb [signed-by=$keyring] $mirror $suite main")
done
include=$(echo $pkgs | tr ' ' ,)
# Roots of earlier pins are of no further use (the toolchain's: 1.7 GB).
rm -rf "${FENCEBUF_CACHE:?}/$name"
mkdir -p "$(dirname "$root")"
log=$FENCEBUF_CACHE/$name/$key.log
say "$name: $(echo $pkgs | wc -w) packages from $mirror ($suites)"
logged "mmdebstrap of the $name (a few minutes)" "$log" \
	mmdebstrap --variant=apt --include="$include" "${aptopts[@]}" \
	--keyring="$keyring" "$dist" "$root.tmp" "${sources[@]}" ||
	die "mmdebstrap failed (log: $log). A pinned version that the archive no longer has shows" \
		"as 'Version ... not found': update the pins in scripts/toolchain/pins.env"

# Every pinned package at its pinned version, nothing newer.
bad=
for pin in $pkgs; do
	[ "$pin" != "${pin#*=}" ] || continue # not pinned
	have=$(chroot "$root.tmp" dpkg-query -W -f='${Version}' "${pin%%=*}" 2>/dev/null || true)
	[ "$have" = "${pin#*=}" ] || bad+=" ${pin%%=*} (have '${have:-none}', pinned ${pin#*=})"
done
[ -z "$bad" ] || die "the $name does not have the pinned versions:$bad"
touch "$root.tmp/.fencebuf-built"
mv "$root.tmp" "$root"
say "$name: $root"
echo "$root" >&3
