#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Say clearly why a kernel build tree cannot build fencebuf, before kbuild
# fails obscurely. Usage: kernel-check.sh KDIR [RUSTC [LLVM]]
# (LLVM: the LLVM= given to kbuild, which names the clang it runs).
# fencebuf needs a configured and built (or header-packaged) Linux 7.2 or
# later with CONFIG_RUST=y, CONFIG_PCI and CONFIG_DMA_SHARED_BUFFER.
kdir=$1
rustc=${2:-rustc}
llvm=${3:-}
fail() {
	echo "fencebuf: cannot build against $kdir: $*" >&2
	exit 1
}

[ -d "$kdir" ] || fail "no such directory (is the kernel's build tree or linux-headers package" \
	"installed? KDIR=/path/to/build selects another)"
conf=$kdir/include/config/auto.conf
[ -r "$conf" ] || fail "not a configured kernel build tree ($conf is missing)"
rel=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) ||
	fail "no include/config/kernel.release"

major=${rel%%.*}
rest=${rel#*.}
minor=${rest%%[!0-9]*}
# The releases whose kernel crates fencebuf follows (scripts/kbuild/release-cfg.mk).
releases=$(sed -n 's/^fencebuf-releases := //p' "$(dirname "$0")/../kbuild/release-cfg.mk")
oldest=${releases%% *} newest=${releases##* }
if [ "$(printf '%s\n' "$oldest" "$major.$minor" | sort -V | head -n1)" != "$oldest" ]; then
	fail "kernel $rel is older than $oldest, the oldest whose Rust kernel crate fencebuf" \
		"follows (Documentation/fencebuf/kernels.rst)"
fi
if [ "$(printf '%s\n' "$newest" "$major.$minor" | sort -V | tail -n1)" != "$newest" ]; then
	echo "fencebuf: note: kernel $rel is newer than $newest, the newest release fencebuf" \
		"follows: if the build fails, its Rust kernel crate changed (see" \
		"Documentation/fencebuf/kernels.rst, \"Adding a kernel release\")" >&2
fi
for opt in RUST PCI DMA_SHARED_BUFFER SYNC_FILE; do
	grep -q "^CONFIG_$opt=y" "$conf" ||
		fail "kernel $rel was built without CONFIG_$opt=y; fencebuf needs CONFIG_RUST," \
			"CONFIG_PCI, CONFIG_DMA_SHARED_BUFFER and CONFIG_SYNC_FILE"
done
[ -r "$kdir/rust/libkernel.rmeta" ] ||
	fail "kernel $rel has CONFIG_RUST=y but its build tree has no Rust metadata" \
		"(rust/*.rmeta): build the kernel first, or install a headers package that ships it"
# Rust crates only link against crates built by the very same compiler.
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$conf")
have=$("$rustc" --version 2>/dev/null) || fail "no Rust compiler '$rustc' (kernel $rel was built" \
	"with $want): install it, or pass RUSTC=/path/to/rustc"
[ "$have" = "$want" ] ||
	fail "kernel $rel was built with '$want' but '$rustc' is '$have'; Rust modules must be" \
		"built with the kernel's own compiler: pass RUSTC=/path/to/that rustc (or put it" \
		"first in PATH)"
# A kernel that inlines its C helpers into Rust (CONFIG_RUST_INLINE_HELPERS)
# has kbuild link rustc's LLVM bitcode with clang's: the module needs a clang
# on rustc's LLVM, as the kernel had. Kernels without it (GCC-built ones such
# as Debian's) call the helpers out of line, and fencebuf's own follow (Kbuild).
if grep -q '^CONFIG_RUST_INLINE_HELPERS=y' "$conf"; then
	case $llvm in
	*/) clang=${llvm}clang ;;
	-*) clang=clang$llvm ;;
	*) clang=clang ;;
	esac
	want=$(sed -n 's/^CONFIG_RUSTC_LLVM_MAJOR_VERSION=//p' "$conf")
	have=$("$clang" --version 2>/dev/null | sed -n '1s/.*clang version \([0-9]*\).*/\1/p')
	[ "$have" = "$want" ] ||
		fail "kernel $rel inlines C helpers into Rust (CONFIG_RUST_INLINE_HELPERS), which" \
			"needs clang on rustc's LLVM $want, but '$clang' is on LLVM '${have:-?}': pass" \
			"LLVM=-$want (or LLVM=/path/to/llvm-$want/bin/) as the kernel was built"
fi
exit 0
