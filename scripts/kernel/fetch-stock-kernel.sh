#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the stock kernel's Debian packages (STOCK_DEBS in scripts/toolchain/pins.env) from
# the system's Debian archive through a private apt state, check each against
# its pinned SHA-256, and print the directory that holds them. Nothing is
# installed on the host.
. "$(dirname "$0")/../lib.sh"
exec 3>&1 1>&2

dir=$FENCEBUF_CACHE/stock/debs
mkdir -p "$dir"

# deb_path NAME VERSION: where the package's file lives here.
deb_path() { echo "$dir/${1}_${2}_amd64.deb"; }
verified() { [ -f "$1" ] && echo "$2  $1" | sha256sum -c --quiet >/dev/null 2>&1; }

updated=
while read -r pin sha; do
	[ -n "$pin" ] || continue
	name=${pin%%=*} ver=${pin#*=}
	deb=$(deb_path "$name" "$ver")
	verified "$deb" "$sha" && continue
	if [ -z "$updated" ]; then
		private_apt stock "$STOCK_SUITE"
		apt-get -q "${PAPT[@]}" update >"$dir/apt-update.log" 2>&1 ||
			die "apt-get update for $STOCK_SUITE failed, see $dir/apt-update.log"
		updated=1
	fi
	say "fetching $name $ver"
	rm -f "$dir/${name}_"*.deb
	(cd "$dir" && apt-get -q "${PAPT[@]}" download "$name=$ver") >"$dir/apt-download.log" 2>&1 ||
		die "could not download $name=$ver from $STOCK_SUITE (see $dir/apt-download.log):" \
			"the archive may have dropped this version; update STOCK_DEBS in" \
			"scripts/toolchain/pins.env"
	# apt-get download escapes ':' and '~' in file names its own way.
	got=$(ls "$dir/${name}_"*.deb | head -n1)
	[ "$got" = "$deb" ] || mv "$got" "$deb"
	verified "$deb" "$sha" ||
		die "sha256 of $deb is not the pinned $sha: refusing to use it"
done <<<"$STOCK_DEBS"
echo "$dir" >&3
