#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the pinned toolchain (scripts/toolchain/pins.env): Debian packages through apt,
# bindgen-cli through cargo into the cache. Idempotent and quick when
# everything is already there.
. "$(dirname "$0")/../lib.sh"
# Callers read other scripts' stdout (a path); everything here is a message.
exec 1>&2

# Prints each package that is not installed: NAME, or NAME=VERSION for the
# LLVM packages, which are pinned to the version of rustc's LLVM.
missing_pkgs() {
	local p pin have
	# FENCEBUF_EXTRA_PKGS: what one entry point needs beyond the build
	# (`make check`: the libraries of the guest's tools).
	for p in $RUST_PKGS $LLVM_PKGS $HOST_PKGS ${FENCEBUF_EXTRA_PKGS:-}; do
		pin=
		case " $LLVM_PKGS " in *" $p "*) pin=$LLVM_PKG_VERSION ;; esac
		# A package dpkg has never seen: dpkg-query fails; that is "missing".
		have=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null) || have=
		if [ -n "$pin" ]; then
			[ "$have" = "install ok installed $pin" ] || echo "$p=$pin"
		else
			case $have in "install ok installed "*) ;; *) echo "$p" ;; esac
		fi
	done
}

command -v apt-get >/dev/null ||
	die "no apt-get: fencebuf's scripts need Debian 12 or later. Supply the toolchain in" \
		"scripts/toolchain/pins.env yourself and build with KDIR=... make"

missing=$(missing_pkgs | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
	say "installing Debian packages: $missing"
	as_root apt-get update -q >/dev/null || die "apt-get update failed"
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing ||
		die "could not install: $missing. rustc-web, rust-web-src and clang-$LLVM_VERSION" \
			"come from bookworm-security; enable that suite or install the packages by hand"
fi

# The kernel's Rust support is pinned to one compiler: check it is the one.
have=$("$RUSTC" --version 2>/dev/null | awk '{print $2}')
[ "$have" = "$RUST_VERSION" ] ||
	die "$RUSTC is '$have', pins want $RUST_VERSION: install rustc-web=$RUST_VERSION*" \
		"(bookworm-security)"
[ -d /usr/lib/rustlib/src/rust/library ] ||
	die "no Rust std sources at /usr/lib/rustlib/src/rust/library: install rust-web-src"
# Inlining C helpers into Rust needs clang on rustc's own LLVM.
rustc_llvm=$("$RUSTC" -vV | sed -n 's/^LLVM version: //p')
clang_llvm=$("clang-$LLVM_VERSION" --version | sed -n '1s/.*clang version \([0-9.]*\).*/\1/p')
[ "$rustc_llvm" = "$LLVM_FULL_VERSION" ] && [ "$clang_llvm" = "$LLVM_FULL_VERSION" ] ||
	die "rustc is on LLVM '$rustc_llvm' and clang-$LLVM_VERSION on '$clang_llvm'; pins want" \
		"both on $LLVM_FULL_VERSION"
[ -e "$LIBCLANG_PATH/libclang.so.1" ] || ls "$LIBCLANG_PATH"/libclang*.so* >/dev/null 2>&1 ||
	die "no libclang in $LIBCLANG_PATH: install libclang1-$LLVM_VERSION"

if ! "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	command -v cargo >/dev/null ||
		die "bindgen $BINDGEN_VERSION is built with cargo, which is not on PATH: install" \
			"cargo (apt: cargo-web) or rustup"
	mkdir -p "$FENCEBUF_CACHE/tools"
	with_progress "building $BINDGEN_CRATE $BINDGEN_VERSION (about 90 s)" \
		cargo install -q --locked --root "$FENCEBUF_CACHE/tools" "$BINDGEN_CRATE" --version "$BINDGEN_VERSION"
fi
"$BINDGEN" --version | grep -q " $BINDGEN_VERSION\$" || die "bindgen at $BINDGEN is not" \
	"$BINDGEN_VERSION"
say "toolchain ok: rustc $RUST_VERSION and clang $LLVM_FULL_VERSION on one LLVM, bindgen $BINDGEN_VERSION"
