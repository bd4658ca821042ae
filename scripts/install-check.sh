#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host checks of the packaging, as a user meets it; each is one result of
# `make check`:
#   install-check.sh install KDIR ROOT     make install DESTDIR=ROOT: the
#                                          module (depmod'ed), rule, header;
#                                          ROOT then goes into the guest
#   install-check.sh uninstall KDIR        install then uninstall: all gone
#   install-check.sh kernel-check KDIR     kernels that cannot build fencebuf
#                                          are refused with the reason
#   install-check.sh dkms KDIR             dkms add/build from dkms.conf; and
#                                          kernels without Rust are skipped
#   install-check.sh rust-analyzer KDIR    make rust-analyzer's project file
#   install-check.sh rust-metadata HEADERS ROOT KDIR  scripts/rust-metadata.sh
#                                          refuses another rustc and other crates
#   install-check.sh stock-dkms HEADERS ROOT  dkms add/build for Debian's stock
#                                          kernel (HEADERS) in the build root ROOT
# KDIR is the pinned kernel's build tree.
. "$(dirname "$0")/lib.sh"

what=$1
kdir=$2
release=$(cat "$kdir/include/config/kernel.release")
fails=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
expect() { # expect DESCRIPTION CMD...: the command must succeed
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
finish() {
	[ $fails -eq 0 ] || die "$what: $fails check(s) failed"
	echo "$what: all checks passed"
}
# make as a user would, for the pinned kernel (its compilers: kmake_vars).
# A user's build, in a directory of its own: build/module is make check's
# test build (with the KUnit tests), which the guest loads.
user_make() {
	make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kdir" $(kmake_vars) \
		MODULE_OUT="$FENCEBUF_ROOT/build/install-check/module" "$@"
}

check_installed() { # ROOT: what make install must have put there
	local root=$1 ko=$1/lib/modules/$release/extra/fencebuf.ko
	expect "module at lib/modules/$release/extra" test -f "$ko"
	expect "modules.dep lists it" grep -q '^extra/fencebuf.ko:' "$root/lib/modules/$release/modules.dep"
	expect "vermagic is $release" sh -c "modinfo -F vermagic '$ko' | grep -q '^$release '"
	expect "the ivshmem alias is indexed" grep -q 'pci:v00001AF4d00001110.* fencebuf$' "$root/lib/modules/$release/modules.alias"
	expect "the sw_sync alias is indexed" grep -q "^alias sw_sync fencebuf$" "$root/lib/modules/$release/modules.alias"
	expect "dev_group and dev_mode are parameters" sh -c "modinfo -F parm '$ko' | grep -q '^dev_group:' && modinfo -F parm '$ko' | grep -q '^dev_mode:'"
	expect "the udev rule" cmp -s "$FENCEBUF_ROOT/udev/70-fencebuf.rules" "$root/etc/udev/rules.d/70-fencebuf.rules"
	expect "the uAPI header" cmp -s "$FENCEBUF_ROOT/include/uapi/linux/fencebuf.h" "$root/usr/local/include/linux/fencebuf.h"
	expect "the importer sample is not installed" test ! -e "$root/lib/modules/$release/extra/fencebuf_importer.ko"
}

case $what in
install)
	root=$3
	rm -rf "$root"
	expect "make install DESTDIR=$root" user_make DESTDIR="$root" install
	check_installed "$root"
	# The pinned kernel inlines C helpers into Rust (Kbuild): none of
	# fencebuf's is left as a function of its own (the C functions named
	# fencebuf_*, but those of params.c and fault_inject.c, objects of
	# their own with state, not helpers.c's), nor a call to the kernel's.
	ko=$root/lib/modules/$release/extra/fencebuf.ko
	expect "fencebuf's C helpers are inlined into its Rust code" \
		sh -c "! nm '$ko' | grep ' [tT] fencebuf_' |
			grep -v -e ' fencebuf_param_' -e ' fencebuf_fault_inject_' -e ' fencebuf_should_fail_'"
	expect "so are the kernel's" sh -c "! nm -u '$ko' | grep -q ' rust_helper_'"
	finish
	;;
uninstall)
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	user_make DESTDIR="$root" install >/dev/null || die "make install failed"
	check_installed "$root"
	expect "make uninstall" user_make DESTDIR="$root" uninstall
	expect "the module is gone" test ! -e "$root/lib/modules/$release/extra/fencebuf.ko"
	expect "modules.dep no longer lists it" sh -c "! grep -q fencebuf '$root/lib/modules/$release/modules.dep'"
	expect "the rule is gone" test ! -e "$root/etc/udev/rules.d/70-fencebuf.rules"
	expect "the header is gone" test ! -e "$root/usr/local/include/linux/fencebuf.h"
	left=$(find "$root" -type f ! -path "*/lib/modules/$release/modules.*")
	expect "nothing else is left (${left:-nothing})" test -z "$left"
	finish
	;;
kernel-check)
	fake=$(mktemp -d)
	trap 'rm -rf "$fake"' EXIT
	# refused DESCRIPTION MESSAGE-PART MAKE-ARGS...: make modules must fail
	# before compiling anything, saying MESSAGE-PART.
	refused() {
		local d=$1 want=$2 out
		shift 2
		out=$(make -C "$FENCEBUF_ROOT" --no-print-directory "$@" modules 2>&1) &&
			{ bad "$d: the build did not fail"; return; }
		if grep -q "fencebuf: cannot build against .*$want" <<<"$out"; then
			ok "$d: $(grep -m1 'fencebuf: cannot build' <<<"$out")"
		else
			bad "$d: no '$want' in: $out"
		fi
	}
	mkfake() { # mkfake DIR RELEASE CONFIG-LINES...
		local d=$1 rel=$2
		shift 2
		mkdir -p "$d/include/config" "$d/rust"
		echo "$rel" >"$d/include/config/kernel.release"
		printf '%s\n' "$@" >"$d/include/config/auto.conf"
		: >"$d/rust/libkernel.rmeta"
	}
	all=(CONFIG_RUST=y CONFIG_PCI=y CONFIG_DMA_SHARED_BUFFER=y CONFIG_SYNC_FILE=y)
	rustc_text=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT=//p' "$kdir/include/config/auto.conf")
	refused "no kernel tree" "no such directory" KDIR="$fake/none"
	mkdir -p "$fake/unconfigured"
	refused "an unconfigured tree" "not a configured kernel build tree" KDIR="$fake/unconfigured"
	mkfake "$fake/old" 7.1.9 "${all[@]}"
	refused "Linux 7.1" "older than 7.2" KDIR="$fake/old"
	mkfake "$fake/norust" 7.3.0 CONFIG_PCI=y CONFIG_DMA_SHARED_BUFFER=y CONFIG_SYNC_FILE=y
	refused "no CONFIG_RUST" "without CONFIG_RUST=y" KDIR="$fake/norust"
	mkfake "$fake/nosync" 7.4.0 CONFIG_RUST=y CONFIG_PCI=y CONFIG_DMA_SHARED_BUFFER=y
	refused "no CONFIG_SYNC_FILE" "without CONFIG_SYNC_FILE=y" KDIR="$fake/nosync"
	mkfake "$fake/wrongrustc" 7.3.0 "${all[@]}" "CONFIG_RUSTC_VERSION_TEXT=rustc 0.0.1 (none)"
	refused "another rustc" "built with 'rustc 0.0.1 (none)'" KDIR="$fake/wrongrustc" RUSTC="$RUSTC"
	refused "the pinned kernel with a missing rustc" "no Rust compiler '/nonexistent/rustc'" \
		KDIR="$kdir" RUSTC=/nonexistent/rustc
	# A kernel that inlines C helpers, and a clang on another LLVM than rustc's.
	mkdir -p "$fake/llvm19"
	printf '#!/bin/sh\necho "Debian clang version 19.1.7 (3+b1)"\n' >"$fake/llvm19/clang"
	chmod +x "$fake/llvm19/clang"
	mkfake "$fake/inline" 7.3.0 "${all[@]}" "CONFIG_RUSTC_VERSION_TEXT=$rustc_text" \
		CONFIG_RUST_INLINE_HELPERS=y CONFIG_RUSTC_LLVM_MAJOR_VERSION=22
	refused "inline helpers and clang on another LLVM" "needs clang on rustc's LLVM 22" \
		KDIR="$fake/inline" RUSTC="$RUSTC" LLVM="$fake/llvm19/"
	[ -n "$rustc_text" ] || bad "the pinned kernel names no CONFIG_RUSTC_VERSION_TEXT"
	finish
	;;
dkms)
	dkms=$("$FENCEBUF_ROOT/scripts/toolchain/fetch-deb.sh" dkms usr/sbin/dkms)/usr/sbin/dkms
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	# What `dkms add .` sees: the tree as committed plus this checkout's
	# changes, without build products.
	src=$work/src/fencebuf-0.1.0
	mkdir -p "$src"
	tar -C "$FENCEBUF_ROOT" -c --exclude=./build --exclude=./.git . | tar -x -C "$src"
	# DKMS passes CC=clang LD=ld.lld for a clang-built kernel, as for a
	# distribution's: the pinned LLVM under those names (llvm-link too, which
	# inlines the C helpers), and the kernel's rustc first in PATH.
	mkdir -p "$work/bin"
	for t in /usr/bin/clang-"$LLVM_VERSION" /usr/bin/ld.lld-"$LLVM_VERSION" /usr/bin/llvm-*-"$LLVM_VERSION"; do
		b=${t##*/}
		ln -s "$t" "$work/bin/${b%-"$LLVM_VERSION"}"
	done
	ln -s "$RUSTC" "$work/bin/rustc"
	ln -s "$BINDGEN" "$work/bin/bindgen"
	trees=(--dkmstree "$work/dkms" --sourcetree "$work/src")
	mkdir -p "$work/dkms"
	run_dkms() { PATH="$work/bin:$PATH" "$dkms" "$@" "${trees[@]}"; }
	expect "dkms add" run_dkms add -m fencebuf -v 0.1.0
	expect "dkms build for $release" run_dkms build -m fencebuf -v 0.1.0 -k "$release" --kernelsourcedir "$kdir"
	ko=$work/dkms/fencebuf/0.1.0/$release/x86_64/module/fencebuf.ko
	expect "DKMS built fencebuf.ko for $release" sh -c "modinfo -F vermagic '$ko' | grep -q '^$release '"
	expect "dkms status says built" sh -c "PATH='$work/bin:$PATH' '$dkms' status -m fencebuf ${trees[*]} | grep -q '$release.*: built'"
	# Kernels that cannot build it are skipped by BUILD_EXCLUSIVE_*.
	skipped() { # skipped DESCRIPTION RELEASE CONFIG-LINES...
		local d=$1 rel=$2 out
		shift 2
		mkdir -p "$work/k-$rel/include/config"
		printf '%s\n' "$@" >"$work/k-$rel/.config"
		out=$(run_dkms build -m fencebuf -v 0.1.0 -k "$rel" --kernelsourcedir "$work/k-$rel" 2>&1) || true
		if grep -q "BUILD_EXCLUSIVE directive which does not match" <<<"$out"; then
			ok "$d: skipped"
		else
			bad "$d: not skipped: $out"
		fi
	}
	skipped "a 7.4 kernel without CONFIG_RUST" 7.4.0 CONFIG_PCI=y CONFIG_DMA_SHARED_BUFFER=y CONFIG_SYNC_FILE=y
	skipped "a Rust-enabled 7.1 kernel" 7.1.0 CONFIG_RUST=y CONFIG_PCI=y CONFIG_DMA_SHARED_BUFFER=y CONFIG_SYNC_FILE=y
	finish
	;;
rust-metadata)
	# scripts/rust-metadata.sh trusts only the kernel's own compiler and
	# crates: HEADERS are Debian's stock headers (in the build root ROOT),
	# KDIR the pinned kernel, built by another rustc with another config.
	headers=$kdir root=$3 pinned=$4
	# refused DESCRIPTION MESSAGE-PART CMD...: CMD must fail saying MESSAGE-PART.
	refused() {
		local d=$1 want=$2 out
		shift 2
		if out=$("$@" 2>&1); then
			bad "$d: it did not fail"
		elif grep -qF "$want" <<<"$out"; then
			ok "$d: $(grep -F -m1 "$want" <<<"$out" | cut -c1-160)"
		else
			bad "$d: it failed without saying '$want': $out"
		fi
	}
	refused "the pinned rustc ($("$RUSTC" --version)) for Debian's kernel" \
		"rustc differs from the kernel's" \
		"$FENCEBUF_ROOT/scripts/rust-metadata.sh" --rustc "$RUSTC" "$headers"
	refused "the pinned kernel's crates (rustc $RUST_VERSION) against Debian's Module.symvers" \
		"the rebuilt Rust crates are not the kernel's" \
		"$FENCEBUF_ROOT/scripts/rust-metadata.sh" check-symbols "$headers" "$pinned"
	overlay=$("$FENCEBUF_ROOT/scripts/toolchain/in-root.sh" "$root" "$FENCEBUF_ROOT/scripts/rust-metadata.sh" \
		"/usr/src/linux-headers-$release" 2>/dev/null)
	expect "the rebuilt crates' symbols are Debian's, both ways" \
		"$FENCEBUF_ROOT/scripts/rust-metadata.sh" check-symbols "$headers" "$overlay"
	finish
	;;
stock-dkms)
	# DKMS for Debian's stock kernel, in the trixie build root where its
	# toolchain runs: the build rebuilds the Rust metadata the headers lack
	# (scripts/rust-metadata.sh) into the root's /var/cache/fencebuf, then
	# the module builds.
	root=$3
	dkms=$("$FENCEBUF_ROOT/scripts/toolchain/fetch-deb.sh" dkms usr/sbin/dkms)/usr/sbin/dkms
	# Inside the cache, which the build root sees at the same path.
	work=$FENCEBUF_CACHE/stock/dkms-check
	rm -rf "$work"
	trap 'rm -rf "$work"' EXIT
	src=$work/src/fencebuf-0.1.0
	mkdir -p "$src" "$work/dkms"
	tar -C "$FENCEBUF_ROOT" -c --exclude=./build --exclude=./.git . | tar -x -C "$src"
	run_dkms() {
		"$FENCEBUF_ROOT/scripts/toolchain/in-root.sh" "$root" "$dkms" "$@" --dkmstree "$work/dkms" --sourcetree "$work/src"
	}
	expect "dkms add" run_dkms add -m fencebuf -v 0.1.0
	out=$work/build.out
	if run_dkms build -m fencebuf -v 0.1.0 -k "$release" \
		--kernelsourcedir "/usr/src/linux-headers-$release" >"$out" 2>&1; then
		ok "dkms build for $release"
	else
		bad "dkms build for $release: $(tail -n 20 "$out")"
	fi
	expect "its build provided the Rust metadata, in /var/cache/fencebuf" sh -c \
		'find "$1" -name make.log -exec grep -h "Rust metadata for $2: .*/var/cache/fencebuf/" {} + | grep -q .' \
		_ "$work/dkms/fencebuf" "$release"
	ko=$work/dkms/fencebuf/0.1.0/$release/x86_64/module/fencebuf.ko
	expect "DKMS built fencebuf.ko for $release" sh -c "modinfo -F vermagic '$ko' | grep -q '^$release '"
	# A GCC-built kernel inlines nothing into Rust: the helpers stay functions.
	expect "its C helpers are out of line, as the kernel's" \
		sh -c "nm '$ko' | grep -q ' T fencebuf_dma_fence_get\$' && nm -u '$ko' | grep -q ' rust_helper_'"
	finish
	;;
rust-analyzer)
	rm -f "$FENCEBUF_ROOT/rust-project.json"
	expect "make rust-analyzer" make -C "$FENCEBUF_ROOT" --no-print-directory rust-analyzer
	expect "rust-project.json resolves kernel for both crates" python3 - "$FENCEBUF_ROOT" <<'EOF'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
crates = json.load(open(root / "rust-project.json"))["crates"]
by_name = {c["display_name"]: c for c in crates}
for name, rel in (("fencebuf", "rust/fencebuf.rs"),
                  ("fencebuf_importer", "samples/importer/fencebuf_importer.rs")):
    c = by_name[name]
    assert c["root_module"] == str(root / rel) and pathlib.Path(c["root_module"]).is_file(), c
    deps = {d["name"]: crates[d["crate"]] for d in c["deps"]}
    kernel = deps["kernel"]
    assert pathlib.Path(kernel["root_module"]).is_file() and kernel["root_module"].endswith("rust/kernel/lib.rs"), kernel
    assert "CONFIG_RUST" in c["cfg"], "no kernel cfgs"
    print(f"{name}: kernel at {kernel['root_module']}, {len(c['cfg'])} cfgs")
roots = [c["root_module"] for c in crates]
assert len(roots) == len(set(roots)), "a crate root twice"
assert not any(r.startswith(str(root / "build")) for r in roots), "a crate under build/"
EOF
	finish
	;;
*)
	die "usage: install-check.sh install|uninstall|kernel-check|dkms|rust-analyzer KDIR [ROOT]"
	;;
esac
