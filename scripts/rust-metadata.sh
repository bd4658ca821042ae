#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Rebuild the Rust metadata a distribution's kernel headers package lacks, and
# prove it is the kernel's own, so that Rust modules build against that
# kernel.
#
# Debian's linux-headers packages (and others) ship no rust/*.rmeta, no
# proc-macro libraries and no scripts/target.json: no Rust module builds
# against them as shipped. Rust crates only link against crates built by the
# very same compiler from the very same source and configuration, so this
# rebuilds the kernel's Rust crates from the kernel's own source package with
# the headers' own .config and .kernelvariables and the kernel's exact rustc,
# and trusts the result only after three checks:
#   1. `rustc --version` (and `bindgen --version`) equal the kernel's
#      CONFIG_RUSTC_VERSION_TEXT (CONFIG_BINDGEN_VERSION_TEXT);
#   2. the configuration headers it generated (autoconf.h, rustc_cfg,
#      utsrelease.h, asm-offsets.h) equal the package's, byte for byte;
#   3. the Rust symbols the rebuilt crates export are exactly the `_R`
#      symbols of the headers' Module.symvers, counted both ways.
# Then it lays rust/*.rmeta, the proc-macro libraries and scripts/target.json
# over a copy of the headers tree, in the cache (the headers themselves are
# never written), and prints the copy's path: a KDIR.
#
# Usage:
#   rust-metadata.sh [OPTIONS] HEADERS     rebuild (or reuse) and print the KDIR
#   rust-metadata.sh needed HEADERS        exit 0 when HEADERS is a Rust-enabled
#                                          kernel's headers without Rust metadata
#   rust-metadata.sh check-symbols HEADERS OBJTREE
#                                          check 3 alone, on the crates of a
#                                          kernel build tree OBJTREE
# Options:
#   --source TARBALL|DIR  the kernel's source (default: the linux-source
#                         package's /usr/src/linux-source-X.Y.tar.xz)
#   --rustc PATH          the compiler (default: $RUSTC, else rustc in PATH)
#   --bindgen PATH        (default: $BINDGEN, else bindgen in PATH)
#   --out DIR             where the KDIR goes (default: under $FENCEBUF_CACHE,
#                         ~/.cache/fencebuf, keyed by the kernel and the tools)
#   -j N                  parallel jobs (default: nproc + 1)
# Everything else this prints goes to stderr.

set -euo pipefail

# What the copy holds and how: change it when that changes, so that copies
# made by an older version of this script are not reused.
LAYOUT=1

# shellcheck source=scripts/say.sh
. "$(dirname "$0")/say.sh"

# conf_text HEADERS NAME: a string option of the kernel's .config.
conf_text() { sed -n "s/^CONFIG_$2=\"\\(.*\\)\"\$/\\1/p" "$1/.config"; }

# needed HEADERS: a Rust kernel's headers without the metadata to build with.
needed() {
	[ -f "$1/.config" ] && grep -q '^CONFIG_RUST=y' "$1/.config" && [ ! -e "$1/rust/libkernel.rmeta" ]
}

# exported_rust_symbols OBJTREE: the `_R` symbols the kernel's Rust crates
# export (rust/Makefile writes them into rust/exports_*_generated.h).
exported_rust_symbols() {
	local f found=0
	for f in "$1"/rust/exports_*_generated.h; do
		[ -f "$f" ] && found=1
	done
	[ $found -eq 1 ] || die "no rust/exports_*_generated.h in $1: not a built kernel tree" \
		"with CONFIG_RUST"
	sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(_R[^)]*\));$/\1/p' "$1"/rust/exports_*_generated.h | sort -u
}

# check_symbols HEADERS OBJTREE: check 3.
check_symbols() {
	local headers=$1 obj=$2 tmp only_ours only_theirs n_ours n_theirs
	tmp=$(mktemp -d)
	exported_rust_symbols "$obj" >"$tmp/ours"
	awk '$2 ~ /^_R/ { print $2 }' "$headers/Module.symvers" | sort -u >"$tmp/theirs"
	n_ours=$(wc -l <"$tmp/ours")
	n_theirs=$(wc -l <"$tmp/theirs")
	only_ours=$(comm -23 "$tmp/ours" "$tmp/theirs" | wc -l)
	only_theirs=$(comm -13 "$tmp/ours" "$tmp/theirs" | wc -l)
	if [ "$only_ours" -ne 0 ] || [ "$only_theirs" -ne 0 ] || [ "$n_ours" -eq 0 ]; then
		{
			echo "the rebuilt Rust crates are not the kernel's:"
			echo "  they export $n_ours Rust symbols, $only_ours of them not in $headers/Module.symvers;"
			echo "  Module.symvers has $n_theirs, $only_theirs of them not exported by the rebuilt crates."
			echo "  First differences (< rebuilt only, > kernel only):"
			diff "$tmp/ours" "$tmp/theirs" >"$tmp/diff" || true
			awk '/^[<>]/ && n++ < 6 { print "    " $0 }' "$tmp/diff"
			echo "  Symbol hashes depend on the compiler, the source and the configuration: build with"
			echo "  the kernel's own rustc ($(conf_text "$headers" RUSTC_VERSION_TEXT)) and its own source package."
		} >"$tmp/msg"
		local msg
		msg=$(cat "$tmp/msg")
		rm -rf "$tmp"
		die "$msg"
	fi
	rm -rf "$tmp"
	say "Rust symbols: the rebuilt crates export the $n_ours of Module.symvers, no more, no" \
		"fewer"
}

# check_generated HEADERS OBJTREE ARCH: check 2.
check_generated() {
	local f
	for f in include/generated/autoconf.h include/generated/rustc_cfg \
		include/generated/utsrelease.h include/generated/asm-offsets.h; do
		# asm-offsets.h was under arch/ before 7.x.
		[ -f "$1/$f" ] || f=arch/$3/include/${f#include/}
		[ -f "$1/$f" ] || die "the headers have no $f to compare with"
		cmp -s "$1/$f" "$2/$f" ||
			die "the rebuilt $f differs from the package's" \
				"($(diff "$1/$f" "$2/$f" | grep -m1 '^[<>]' | cut -c1-100)...):" \
				"the source, the compiler or the configuration is not the kernel's"
	done
	say "configuration headers: identical to the package's"
}

# check_tools HEADERS RUSTC BINDGEN: check 1.
check_tools() {
	local want have
	want=$(conf_text "$1" RUSTC_VERSION_TEXT)
	[ -n "$want" ] || die "$1/.config has no CONFIG_RUSTC_VERSION_TEXT"
	have=$("$2" --version 2>/dev/null) ||
		die "no Rust compiler '$2'. The kernel was built with '$want': install that" \
			"compiler (Debian 13: rustc, rust-src and libstd-rust-dev from trixie," \
			"not trixie-backports) or pass --rustc"
	[ "$have" = "$want" ] ||
		die "rustc differs from the kernel's: '$2' is '$have', the kernel was built with" \
			"'$want'. Install that exact compiler (Debian 13: rustc, rust-src and" \
			"libstd-rust-dev from trixie, not trixie-backports) or pass --rustc" \
			"/path/to/it"
	local sysroot
	sysroot=$("$2" --print sysroot)
	[ -d "$sysroot/lib/rustlib/src/rust/library/core" ] ||
		die "$2 has no standard library sources ($sysroot/lib/rustlib/src/rust/library):" \
			"install its rust-src"
	want=$(conf_text "$1" BINDGEN_VERSION_TEXT)
	if [ -n "$want" ]; then
		have=$("$3" --version 2>/dev/null | head -n1) ||
			die "no bindgen '$3'. The kernel was built with '$want': install it" \
				"(Debian 13: bindgen) or pass --bindgen"
		[ "$have" = "$want" ] ||
			die "bindgen differs from the kernel's: '$3' is '$have', the kernel was" \
				"built with '$want'. Install that version or pass --bindgen"
	fi
	say "compilers: $(conf_text "$1" RUSTC_VERSION_TEXT), ${want:-bindgen}: the kernel's own"
}

# kernel_variables HEADERS: the make variables of the headers' .kernelvariables
# (Debian's record of how the kernel was built: ARCH, CROSS_COMPILE, CC,
# KERNELRELEASE, ...), evaluated by make, one NAME=VALUE a line.
kernel_variables() {
	[ -f "$1/.kernelvariables" ] || return 0
	local names
	names=$(sed -n 's/^\(override[[:space:]]\{1,\}\)\{0,1\}\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*[:?+]\{0,1\}=.*/\2/p' "$1/.kernelvariables")
	# shellcheck disable=SC2016
	printf '%s\n' "include $1/.kernelvariables" \
		'$(foreach v,$(NAMES),$(info $(v)=$(strip $($(v)))))' \
		'all: ;' | make -s -f - NAMES="$names" all
}

# step LABEL LOG CMD...: CMD with its output in LOG and progress; a
# failure ends the script, showing the log's end.
step() { logged "$@" || die "$1 failed (log: $2)"; }

# overlay HEADERS OBJTREE OUT FINAL: a copy of the headers tree with the
# metadata, made in OUT, to be used at FINAL.
overlay() {
	local headers=$1 obj=$2 out=$3 final=$4 link target
	cp -a "$headers/." "$out/"
	# Links that lead out of the tree (Debian: scripts and tools into
	# linux-kbuild) still lead there from the copy.
	while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		case $target in
		/*) ;;
		*) ln -sfn "$(readlink -f "$headers/${link#"$out"/}")" "$link" ;;
		esac
	done < <(find "$out" -type l -print0)
	# The headers' Makefile names their own directory as the output.
	if grep -q "^KBUILD_OUTPUT=" "$out/Makefile" 2>/dev/null; then
		sed -i "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$final|" "$out/Makefile"
	fi
	# scripts/ may be a link to the distribution's kbuild: make it a
	# directory of links to it, which scripts/target.json can join.
	if [ -L "$out/scripts" ]; then
		target=$(readlink -f "$out/scripts")
		rm "$out/scripts"
		mkdir "$out/scripts"
		for link in "$target"/* "$target"/.[!.]*; do
			[ -e "$link" ] || continue
			ln -s "$link" "$out/scripts/"
		done
	fi
	cp "$obj/scripts/target.json" "$out/scripts/target.json"
	mkdir -p "$out/rust"
	cp "$obj"/rust/*.rmeta "$out/rust/"
	cp "$obj"/rust/lib*.so "$out/rust/"
	# The proof, kept: `check-symbols HEADERS OUT` repeats check 3.
	cp "$obj"/rust/exports_*_generated.h "$out/rust/"
}

# build HEADERS: the whole job.
build() {
	local headers source rustc bindgen out jobs
	headers=$1 source=$2 rustc=$3 bindgen=$4 out=$5 jobs=$6
	[ -f "$headers/.config" ] || die "$headers is not a kernel headers tree (no .config)"
	grep -q '^CONFIG_RUST=y' "$headers/.config" ||
		die "the kernel of $headers was built without CONFIG_RUST: no Rust module can be" \
			"built for it"
	if [ -e "$headers/rust/libkernel.rmeta" ]; then
		say "$headers has Rust metadata already: nothing to rebuild"
		echo "$headers"
		return
	fi
	[ -f "$headers/Module.symvers" ] || die "$headers has no Module.symvers to check the" \
		"rebuild against"
	local release
	release=$(cat "$headers/include/config/kernel.release" 2>/dev/null) ||
		die "$headers has no include/config/kernel.release"

	check_tools "$headers" "$rustc" "$bindgen"

	local cache key
	cache=${FENCEBUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fencebuf}
	key=$({
		cat "$headers/.config" "$headers/Module.symvers"
		"$rustc" --version
		"$bindgen" --version 2>/dev/null || true
		echo "layout $LAYOUT"
	} | sha256sum | cut -c1-16)
	out=${out:-$cache/kernel/headers-$release-rust-$key}
	if [ -f "$out/.fencebuf-verified" ]; then
		say "Rust metadata for $release: cached in $out"
		echo "$out"
		return
	fi

	if [ -z "$source" ]; then
		local majmin=${release%%[!0-9.]*}
		majmin=$(echo "$majmin" | cut -d. -f1-2)
		source=/usr/src/linux-source-$majmin.tar.xz
		[ -f "$source" ] ||
			die "no kernel source at $source: install the kernel's source package" \
				"(Debian: linux-source-$majmin, the same version as the kernel)" \
				"or pass --source"
	fi
	[ -e "$source" ] || die "no kernel source at $source"

	mkdir -p "$(dirname "$out")"
	exec 9>"$out.lock"
	flock 9
	[ ! -f "$out/.fencebuf-verified" ] || {
		echo "$out"
		return
	}
	local work=$out.work
	# What earlier tools or an earlier version of this script left for this
	# kernel is of no further use.
	local old
	for old in "$(dirname "$out")/headers-$release-rust-"*; do
		case $old in "$out" | "$out".*) ;; *) rm -rf "$old" ;; esac
	done
	rm -rf "$work" "$out.tmp"
	mkdir -p "$work/obj" "$out.tmp"
	local src=$source
	if [ -f "$source" ]; then
		src=$work/src
		mkdir -p "$src"
		step "unpacking $(basename "$source")" "$work/unpack.log" \
			tar -C "$src" --strip-components=1 -xf "$source"
	fi
	[ -f "$src/Makefile" ] && [ -d "$src/rust" ] || die "$source is not a kernel source tree" \
		"with Rust support"

	local vars=() line arch=x86
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		vars+=("$line")
		case $line in ARCH=*) arch=${line#ARCH=} ;; esac
	done < <(kernel_variables "$headers")
	# The host compiler as the kernel's compiler: Debian builds its kernels so.
	local cc
	cc=$(printf '%s\n' "${vars[@]}" | sed -n 's/^CC=//p')
	[ -z "$cc" ] || vars+=("HOSTCC=$cc")
	printf '%s\n' "${vars[@]}" | grep -q '^KERNELRELEASE=' || vars+=("KERNELRELEASE=$release")
	vars+=("RUSTC=$rustc" "BINDGEN=$bindgen")
	say "rebuilding the Rust crates of $release from $source (make ${vars[*]})"

	cp "$headers/.config" "$work/obj/.config"
	step "configuring" "$work/config.log" \
		make -C "$src" O="$work/obj" "${vars[@]}" olddefconfig
	cmp -s "$headers/.config" "$work/obj/.config" ||
		die "the source and this machine do not reproduce the kernel's .config (< the kernel's, > the rebuilt one):
$(diff "$headers/.config" "$work/obj/.config" | awk '/^[<>]/ && n++ < 8 { print "    " $0 }')
  Is $source the kernel's own version? Kconfig also probes this machine's tools: the compilers (CC: ${cc:-cc}, rustc, bindgen), pahole, and openssl for the module signing key types; install what the differing options test."
	step "building the kernel's Rust crates (make prepare, about 3 min of CPU)" "$work/build.log" \
		make -C "$src" O="$work/obj" "${vars[@]}" -j"$jobs" prepare

	check_generated "$headers" "$work/obj" "$arch"
	check_symbols "$headers" "$work/obj"

	overlay "$headers" "$work/obj" "$out.tmp" "$out"
	{
		echo "kernel: $release"
		echo "headers: $headers"
		echo "source: $source"
		echo "rustc: $("$rustc" --version)"
		echo "checked: compilers, configuration headers, $(exported_rust_symbols "$work/obj" | wc -l) Rust symbols"
	} >"$out.tmp/.fencebuf-verified"
	rm -rf "$out"
	mv "$out.tmp" "$out"
	rm -rf "$work"
	say "Rust metadata for $release: $out"
	echo "$out"
}

case ${1:-} in
needed)
	[ $# -eq 2 ] || die "usage: $0 needed HEADERS"
	needed "$2"
	;;
check-symbols)
	[ $# -eq 3 ] || die "usage: $0 check-symbols HEADERS OBJTREE"
	check_symbols "$2" "$3"
	;;
"" | -h | --help)
	sed -n '4,/^$/s/^# \{0,1\}//p' "$0" >&2
	[ -n "${1:-}" ]
	;;
*)
	source= rustc=${RUSTC:-rustc} bindgen=${BINDGEN:-bindgen} out= jobs=$(($(nproc) + 1))
	while [ $# -gt 1 ]; do
		case $1 in
		--source) source=$2 ;;
		--rustc) rustc=$2 ;;
		--bindgen) bindgen=$2 ;;
		--out) out=$2 ;;
		-j) jobs=$2 ;;
		*) die "unknown option $1 (see $0 --help)" ;;
		esac
		shift 2
	done
	[ $# -eq 1 ] || die "usage: $0 [OPTIONS] HEADERS (see $0 --help)"
	headers=$(cd "$1" 2>/dev/null && pwd -P) || die "no headers tree at $1"
	build "$headers" "$source" "$rustc" "$bindgen" "$out" "$jobs"
	;;
esac
