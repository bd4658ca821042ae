# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the scripts under qemu/ and scripts/. Sourced, never executed.

set -euo pipefail

FENCEBUF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/toolchain/pins.env
. "$FENCEBUF_ROOT/scripts/toolchain/pins.env"

# Everything big lives outside the repository so that a fresh clone reuses it.
FENCEBUF_CACHE=${FENCEBUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fencebuf}
BINDGEN=${BINDGEN:-$FENCEBUF_CACHE/tools/bin/bindgen}
export LIBCLANG_PATH

# shellcheck source=scripts/say.sh
. "$FENCEBUF_ROOT/scripts/say.sh"

# Run a privileged command: directly as root, through sudo otherwise.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root for: $* (run as root or install sudo)"
	fi
}

# Key of the cached kernel build for config fragment $1: changes whenever the
# pins that go into the pinned kernels (source and toolchain) or the fragment
# change, and only then.
kernel_key() {
	{
		grep -E '^(KERNEL_|RUST|LLVM|LIBCLANG|BINDGEN|CLIPPY)' "$FENCEBUF_ROOT/scripts/toolchain/pins.env"
		cat "$1"
		kernel_patches "$1" | xargs -r cat
	} | sha256sum | cut -c1-16
}

# The kernel patches a config fragment names, one "# fencebuf-patch: FILE"
# line each (files in scripts/kernel/patches/), as paths.
kernel_patches() {
	sed -n 's/^# fencebuf-patch: *//p' "$1" | sed "s|^|$FENCEBUF_ROOT/scripts/kernel/patches/|"
}

# The Debian archive this system's apt uses, as a URI: whatever mirror or
# proxy the user configured works unchanged, and the project names none.
# FENCEBUF_DEBIAN_MIRROR overrides it.
debian_mirror() {
	if [ -n "${FENCEBUF_DEBIAN_MIRROR:-}" ]; then
		echo "${FENCEBUF_DEBIAN_MIRROR%/}"
		return
	fi
	local uri i
	for i in 1 2; do
		# The main archive: Origin and Label "Debian" (security is
		# "Debian-Security"), read from the Release files apt has.
		# shellcheck disable=SC2016
		uri=$(apt-get indextargets --format '$(ORIGIN)|$(LABEL)|$(REPO_URI)' 2>/dev/null |
			awk -F'|' '$1 == "Debian" && $2 == "Debian" { print $3; exit }')
		[ -z "$uri" ] && [ "$i" -eq 1 ] || break
		# No Release files yet: a fresh machine before its first update.
		as_root apt-get update -q >/dev/null 2>&1 || true
	done
	[ -n "$uri" ] ||
		die "this system's apt has no Debian archive in its sources (Origin and Label" \
			"\"Debian\"): add one, or set FENCEBUF_DEBIAN_MIRROR=<the archive's URI>"
	echo "${uri%/}"
}

# private_apt NAME "SUITE..." (sets PAPT): apt options for a private apt state
# in the cache with only these suites of the system's Debian archive. The
# system's sources, lists and package database are never touched; its
# apt.conf (proxies) still applies. Run `apt-get "${PAPT[@]}" update` first.
private_apt() {
	local dir=$FENCEBUF_CACHE/apt/$1 keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	local mirror suite
	[ -f "$keyring" ] || die "no $keyring: install debian-archive-keyring"
	mirror=$(debian_mirror)
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc"
	for suite in $2; do
		echo "deb [signed-by=$keyring] $mirror $suite main"
	done >"$dir/etc/sources.list"
	PAPT=(
		-o "Dir::Etc::SourceList=$dir/etc/sources.list"
		-o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::State::status=/dev/null"
		-o "Dir::Cache=$dir/cache"
		-o "APT::Sandbox::User=$(id -un)"
		-o "Debug::NoLocking=1"
	)
}

# stock_var SERIES NAME [DEFAULT]: the pin STOCK_<SERIES>_<NAME>
# (scripts/toolchain/pins.env) of a stock kernel series such as 7.2, or of a
# kernel scripts/test/distro-check.sh resolved (SERIES: its suite).
stock_var() {
	local series=${1//./_}
	local var="STOCK_${series//-/_}_$2"
	if [ -z "${!var:-}" ]; then
		[ $# -lt 3 ] || { echo "$3"; return; }
		die "no stock kernel $1 (no $var in scripts/toolchain/pins.env;" \
			"the series are: $STOCK_KERNELS)"
	fi
	echo "${!var}"
}
# stock_name SERIES: how make check names a stock kernel's results: stock for
# the newest pinned series, stockX.Y for the other pinned ones, the suite for
# a distro-check kernel.
stock_name() {
	case " $STOCK_KERNELS " in
	" $1 "*) echo stock ;;
	*" $1 "*) echo "stock$1" ;;
	*) echo "$1" ;;
	esac
}

kernel_src_dir() { echo "$FENCEBUF_CACHE/src/linux-$KERNEL_PKG_VERSION"; }

# Make variables that select the pinned toolchain for any kernel build.
kmake_vars() {
	echo "LLVM=-$LLVM_VERSION RUSTC=$RUSTC BINDGEN=$BINDGEN CLIPPY_DRIVER=$CLIPPY_DRIVER RUSTFMT=$RUSTFMT"
}

# run_one_suite KERNEL INITRD LOGDIR SUITE TIMEOUT: boot the guest for one
# suite, show its output without the runner's @@ protocol lines, and succeed
# only if the suite ended with rc=0.
run_one_suite() {
	local logs=$3 suite=$4
	"$FENCEBUF_ROOT/qemu/run-vm.sh" "$1" "$2" "$logs" "$suite" "$5" | grep -v '^@@'
	grep -q "^@@fencebuf suite-end $suite rc=0" <(tr -d '\r' <"$logs/results.log")
}

# patched_tree DEST PATCH...: the project's files as the work tree has them
# (tracked and new, not ignored), copied to DEST, with each PATCH applied:
# what make mutants and make bench's cost runs build. Dies if one does not
# apply.
patched_tree() {
	local dest=$1 p
	shift
	mkdir -p "$dest"
	(cd "$FENCEBUF_ROOT" && git ls-files --cached --others --exclude-standard -z |
		xargs -0 cp --parents -t "$dest")
	for p in "$@"; do
		patch -s -d "$dest" -p1 <"$p" || die "$p does not apply"
	done
}

# The guest suites, from their one table (selftests/suites).
# suite_list debug|q35|stock|stress: make check's default list for the
# debug kernel's first boot, or for its q35 boot, or the stock kernel's (in
# its boot's order), or make stress's; comma-separated.
suites_table() { grep -v -E '^[[:space:]]*(#|$)' "$FENCEBUF_ROOT/selftests/suites"; }
suite_list() {
	case $1 in
	debug) suites_table | awk '$2 == "yes" { print $1 }' ;;
	q35) suites_table | awk '$2 == "q35" { print $1 }' ;;
	stock) suites_table | awk '$3 != "-" { print $3, $1 }' | sort -n | cut -d' ' -f2 ;;
	stress) suites_table | awk '$4 == "yes" { print $1 }' ;;
	*) die "suite_list: debug, q35, stock or stress, not '$1'" ;;
	esac | paste -sd, -
}
