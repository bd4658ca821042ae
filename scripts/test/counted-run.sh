#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The counted run: build the counting plugin (qemu/tb-count-plugin.c), boot
# KERNEL under it (TCG, one host thread: exact counters) for the guest's
# count suite (selftests/fencebuf_count.c), and leave LOGDIR/tb-count.txt and
# LOGDIR/results.log for scripts/report/count-report.py. make bench runs it
# in full; make check short (N operations), as count-smoke.
# Usage: counted-run.sh KERNEL INITRD GUEST_DIR LOGDIR [N]
#   GUEST_DIR: the guest tree the initramfs was made from (its
#   tests/fencebuf_count gives the marker's address)
#
# The plugin declares QEMU's plugin API itself (no header ships with
# Debian's QEMU): a function the QEMU that runs it does not export is
# refused here, by name; one whose arguments changed crashes QEMU or counts
# nothing, which the run or the report then fails on.
. "$(dirname "$0")/../lib.sh"

kernel=$1 initrd=$2 guest=$3 logs=$4 n=${5:-}
case $logs in *,*) die "the counting plugin's arguments cannot hold a ',': $logs" ;; esac
mkdir -p "$logs"
plugin=$logs/tb-count.so
logged "building the counting plugin" "$logs/plugin-build.log" \
	gcc -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
	-o "$plugin" "$FENCEBUF_ROOT/qemu/tb-count-plugin.c" ||
	die "plugin build failed (log: $logs/plugin-build.log)"
# The QEMU qemu/run-vm.sh runs: the pinned one, or FENCEBUF_QEMU=system's.
if [ "${FENCEBUF_QEMU:-pinned}" != system ]; then
	qemu_root=$("$FENCEBUF_ROOT/scripts/toolchain/trixie-root.sh" qemu) ||
		die "the pinned QEMU's root could not be made"
	qemu=$qemu_root/usr/bin/qemu-system-x86_64
else
	qemu=$(command -v qemu-system-x86_64) || die "no qemu-system-x86_64 on this system"
fi
missing=$(comm -23 \
	<(nm -u --format=just-symbols "$plugin" | grep '^qemu_plugin_' | sort) \
	<(nm -D --defined-only --format=just-symbols "$qemu" | sort))
[ -z "$missing" ] || die "the counting plugin calls what $qemu does not export:" \
	"$(echo "$missing" | paste -sd' ' -) (qemu/tb-count-plugin.c declares the API of QEMU $QEMU_VERSION)"
marker=$(nm "$guest/tests/fencebuf_count" | awk '$3 == "fencebuf_count_marker" { print "0x" $1 }')
[ -n "$marker" ] || die "no fencebuf_count_marker in $guest/tests/fencebuf_count"
# One vCPU: on the pinned QEMU, the plugin's per-vCPU counters with two
# vCPUs on one TCG thread corrupt the guest (a kernel BUG in
# select_fallback_rq() within two seconds of boot, then QEMU crashes); with
# one, the run is clean. The count program runs on CPU 0 either way.
FENCEBUF_VM_CPUS=1 FENCEBUF_ACCEL=tcg FENCEBUF_TCG_THREADS=single FENCEBUF_COUNT_N=$n \
	FENCEBUF_QEMU_PLUGIN="$plugin,marker=$marker,out=$logs/tb-count.txt" \
	run_one_suite "$kernel" "$initrd" "$logs" count 900 ||
	die "the counted run did not finish; see $logs/results.log, $logs/console.log and $logs/qemu.log"
