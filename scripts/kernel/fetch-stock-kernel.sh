#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# fetch-stock-kernel.sh SERIES: fetch a stock kernel's Debian packages
# (STOCK_<SERIES>_DEBS in scripts/toolchain/pins.env) from the system's
# Debian archive through a private apt state, check each against its pinned
# SHA-256, and print the directory that holds them. Nothing is installed on
# the host.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

series=${1:?usage: fetch-stock-kernel.sh SERIES}
suite=$(stock_var "$series" SUITE)
debs=$(stock_var "$series" DEBS)
dir=$FENCEBUF_CACHE/stock/debs
mkdir -p "$dir"

verified() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet >/dev/null 2>&1; }

updated=
while read -r pin sha; do
	[ -n "$pin" ] || continue
	name=${pin%%=*} ver=${pin#*=}
	# NAME_VERSION_ARCH.deb, ARCH as the archive has it.
	deb=$(ls "$dir/${name}_${ver}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$deb" ] && verified "$deb" "$sha" && continue
	if [ "$pin" = "$KERNEL_PKG=$KERNEL_PKG_VERSION" ]; then
		# The debug kernel's source: fetched once, for both.
		"$FENCEBUF_ROOT/scripts/kernel/fetch-kernel.sh" >/dev/null
		deb=$dir/${name}_${ver}_all.deb
		ln -f "$FENCEBUF_CACHE/download/${KERNEL_PKG}_${KERNEL_PKG_VERSION}_all.deb" "$deb"
	else
		if [ -z "$updated" ]; then
			private_apt "stock-$suite" "$suite"
			# A distro-check suite moves; see scripts/test/distro-check.sh.
			[ "$(stock_var "$series" ROOT toolchain)" != distro ] ||
				PAPT+=(-o 'Acquire::Check-Valid-Until=false')
			apt-get -q "${PAPT[@]}" update >"$dir/apt-update.log" 2>&1 ||
				die "apt-get update for $suite failed, see $dir/apt-update.log"
			updated=1
		fi
		say "fetching $name $ver"
		rm -f "$dir/${name}_"*.deb
		(cd "$dir" && apt-get -q "${PAPT[@]}" download "$name=$ver") >"$dir/apt-download.log" 2>&1 ||
			die "could not download $name=$ver from $suite (see $dir/apt-download.log):" \
				"the archive may have dropped this version; update STOCK_${series//./_}_DEBS" \
				"in scripts/toolchain/pins.env"
		# apt-get download escapes ':' and '~' in file names its own way.
		got=$(ls "$dir/${name}_"*.deb | head -n1)
		deb=$dir/${name}_${ver}_${got##*_}
		[ "$got" = "$deb" ] || mv "$got" "$deb"
	fi
	verified "$deb" "$sha" ||
		die "sha256 of $deb is not the pinned $sha: refusing to use it"
done <<<"$debs"
echo "$dir" >&3
