#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: set everything up, boot the pinned kernel in QEMU, load the
# module and run the demo (qemu/guest-demo.sh), then check the kernel log.
. "$(dirname "$0")/../scripts/lib.sh"

build=$FENCEBUF_ROOT/build
logs=$build/logs/run
rm -rf "$logs"
mkdir -p "$logs"

"$FENCEBUF_ROOT/scripts/toolchain/setup-toolchain.sh"
kdir=$("$FENCEBUF_ROOT/scripts/kernel/build-kernel.sh" "$FENCEBUF_ROOT/scripts/kernel/kernel-debug.config")
logged "building fencebuf.ko" "$logs/module-build.log" \
	make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kdir" PINNED=1 modules || die "module build failed"

staging=$build/demo
rm -rf "$staging"
logged "building the samples" "$logs/samples-build.log" \
	make -C "$FENCEBUF_ROOT/samples" --no-print-directory KHDR="$kdir/usr/include" OUT="$staging" ||
	die "sample build failed"
install -D -m 0644 "$build/module/fencebuf.ko" "$staging/modules/fencebuf.ko"
install -D -m 0755 "$FENCEBUF_ROOT/qemu/guest-demo.sh" "$staging/demo.sh"
"$FENCEBUF_ROOT/qemu/mkinitramfs.sh" "$build/initramfs-demo.cpio.gz" "$staging"

rc=0
run_one_suite "$kdir/arch/x86/boot/bzImage" "$build/initramfs-demo.cpio.gz" "$logs" demo 300 || {
	say "the demo failed"
	rc=1
}
python3 "$FENCEBUF_ROOT/scripts/report/report.py" --splats-only --console "$logs/console.log" || rc=1
say "guest kernel log: $logs/console.log"
exit $rc
