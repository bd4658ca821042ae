#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make deb`: build the fencebuf-dkms Debian package from debian/ with
# Debian's own tools (debhelper, dh-dkms) in a pinned trixie root, check it
# with lintian, and put it in build/deb/. The package holds the source;
# DKMS builds the module on the user's machine.
. "$(dirname "$0")/../lib.sh"

root=$("$FENCEBUF_ROOT/scripts/toolchain/trixie-root.sh" packaging)
# Inside the cache, which the root sees at the same path.
work=$FENCEBUF_CACHE/deb-build
out=$FENCEBUF_ROOT/build/deb
rm -rf "$work" "$out"
mkdir -p "$work/fencebuf" "$out"
# What is committed, as a fresh clone has it.
(cd "$FENCEBUF_ROOT" && git ls-files -z | xargs -0 cp --parents -t "$work/fencebuf")
in_root=("$FENCEBUF_ROOT/scripts/toolchain/in-root.sh" "$root")
logged "dpkg-buildpackage" "$out/build.log" \
	"${in_root[@]}" sh -c "cd '$work/fencebuf' && dpkg-buildpackage --build=binary --no-sign" ||
	die "the package did not build (log: $out/build.log)"
debs=("$work"/fencebuf-dkms_*_all.deb)
[ -f "${debs[0]}" ] || die "dpkg-buildpackage made no fencebuf-dkms package"
logged "lintian" "$out/lintian.log" \
	"${in_root[@]}" lintian --fail-on error,warning --display-info "${debs[@]}" ||
	die "lintian: $(grep -E '^[EW]:' "$out/lintian.log" | head -n 5)"
cp "${debs[@]}" "$out/"
say "built $(basename "${debs[0]}") in $out (lintian: no error or warning)"
