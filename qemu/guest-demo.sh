#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`'s demo, run inside the guest: load fencebuf, use its timeline
# and its MMIO exporter with the sample programs. Every step says what it
# does.
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

step "the MMIO exporter: fencebuf bound the ivshmem PCI device"
ls -l /dev/fencebuf/
grep -H . /sys/bus/pci/drivers/fencebuf/0000:*/vendor /sys/bus/pci/drivers/fencebuf/0000:*/device

step "samples/exporter_demo: export a BAR range, mmap it, revoke (SIGBUS), restore"
/fencebuf/samples/exporter_demo /dev/fencebuf/0000:01:01.0

step "unloading fencebuf: nothing holds it any more"
rmmod fencebuf
! grep -q '^fencebuf ' /proc/modules
echo "fencebuf unloaded; the demo is over"
