#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make distro-check SUITE=sid`: a canary for the kernels to come. It
# resolves, at run time, the kernel Debian's SUITE has now
# (linux-image-amd64's) and the compiler its headers depend on, unpinned: a
# pinned sid package leaves the archive within weeks. Then, as make check
# does for the pinned stock kernels: a SUITE root with that toolchain, the
# kernel's packages unpacked into it, its Rust metadata rebuilt and checked,
# fencebuf built against its headers without a warning, `make install`, and
# its own vmlinuz booted with the stock suites (results SUITE:NAME). Not part
# of make check: its inputs move. Documentation/fencebuf/kernels.rst.
#   FENCEBUF_STOCK_SUITES  the suites (default: the stock kernels' list)
. "$(dirname "$0")/../lib.sh"

suite=${1:?usage: distro-check.sh SUITE (a Debian suite whose kernel has Rust, e.g. sid)}
case $suite in
*[!a-z-]*) die "SUITE is a Debian suite name such as sid or forky, not '$suite'" ;;
esac
private_apt "stock-$suite" "$suite"
# A moving suite's Release file expires within days, and a snapshot of the
# archive keeps it past that; its signature is still checked.
PAPT+=(-o 'Acquire::Check-Valid-Until=false')
logged "apt-get update for $suite" "$FENCEBUF_CACHE/apt/stock-$suite/update.log" \
	apt-get -q "${PAPT[@]}" update || die "apt-get update for $suite failed"
cache=(apt-cache "${PAPT[@]}")
candidate() { "${cache[@]}" policy "$1" | awk '/Candidate:/ { print $2 }'; }

image=$("${cache[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$image" ] || die "$suite has no linux-image-amd64 that depends on a kernel"
release=${image#linux-image-}
series=$(echo "$release" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')
# The kernel's packages, as scripts/kernel/stock-kernel.sh unpacks them:
# the headers, and what they and the image depend on of the kernel's own
# (common headers, kbuild, the vmlinuz in linux-binary, linux-base), and
# the source it was built from.
pkgs=$({
	echo "linux-headers-$release"
	"${cache[@]}" depends "$image" "linux-headers-$release" |
		awk '/Depends: linux-(binary|base|headers|kbuild)-[0-9]/ { print $2 }'
	echo "linux-source-$series"
} | sort -u)
debs=
for p in $pkgs; do
	ver=$(candidate "$p")
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "$suite has no $p"
	sha=$("${cache[@]}" show "$p=$ver" | awk '/^SHA256:/ { print $2; exit }')
	debs+="$p=$ver $sha"$'\n'
done
# The toolchain: the compiler the headers depend on, and the suite's rustc
# and bindgen (scripts/rust-metadata.sh stops if they are not the kernel's).
cc=$("${cache[@]}" depends "linux-headers-$release" | awk '/Depends: gcc-[0-9]+-for-host/ { print $2; exit }')
[ -n "$cc" ] || die "linux-headers-$release depends on no gcc-N-for-host"
tools="rustc rust-src bindgen libclang-dev ${cc%-for-host} $cc libc6-dev binutils make bc flex"
tools+=" bison libelf-dev libssl-dev pahole cpio kmod xz-utils python3 openssl"
versions=$(for t in rustc bindgen "${cc%-for-host}"; do echo "$t $(candidate "$t")"; done)
say "$suite: kernel $release; $(echo "$versions" | paste -sd, - | sed 's/,/, /g')"

export STOCK_${suite//-/_}_RELEASE="$release" STOCK_${suite//-/_}_SUITE="$suite"
export STOCK_${suite//-/_}_DEBS="$debs" STOCK_${suite//-/_}_ROOT=distro
export FENCEBUF_DISTRO_SUITE=$suite FENCEBUF_DISTRO_PKGS=$tools
# A new compiler or kernel makes a new root.
export FENCEBUF_DISTRO_KEY="$release $versions"
export FENCEBUF_STOCK_KERNELS=$suite FENCEBUF_SUITES='' FENCEBUF_SKIP_HOST=1
export FENCEBUF_LOGS=${FENCEBUF_LOGS:-$FENCEBUF_ROOT/build/logs/distro-$suite}
exec "$FENCEBUF_ROOT/scripts/test/check.sh"
