#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`'s demo, run inside the guest: load fencebuf and use its
# timeline with the sample program. Every step says what it does.
set -e
step() { printf '\n== %s\n' "$*"; }

step "kernel $(uname -r), $(nproc) CPUs; loading fencebuf.ko"
insmod /fencebuf/modules/fencebuf.ko
grep '^fencebuf ' /proc/modules
step "the timeline device it registered (devname=$(cat /sys/module/fencebuf/parameters/devname))"
ls -l /dev/sw_sync

step "samples/timeline_demo: a producer INCs the timeline, a consumer polls sync_files"
/fencebuf/samples/timeline_demo /dev/sw_sync 5

step "the same program against the kernel's C sw_sync in debugfs: the same ABI"
/fencebuf/samples/timeline_demo /sys/kernel/debug/sync/sw_sync 2

step "a timeline's /proc fdinfo (fencebuf's extension): name, value, pending fences"
exec 3<>/dev/sw_sync
cat /proc/$$/fdinfo/3 | grep -E '^(timeline|value|pending):'
exec 3>&-

step "unloading fencebuf: nothing holds it any more"
rmmod fencebuf
! grep -q '^fencebuf ' /proc/modules
echo "fencebuf unloaded; the demo is over"
