#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the fencebuf test guest.
#
# Runs the suites named on the kernel command line (fbtest.suites=a,b,c)
# and ends the VM. Test output goes to the second serial port (ttyS1), the
# kernel log to the first (ttyS0), so the host reads results that no printk
# can interleave with. Result protocol, one line each:
#   @@fencebuf cpus N expected M (CPUs online, CPUs the host asked for)
#   @@fencebuf suite-begin NAME
#   ...TAP from the suite...
#   @@fencebuf suite-end NAME rc=N
#   @@fencebuf kmemleak N        (suspected leaks found by the final scan)
#   @@fencebuf done
# With FENCEBUF_COVERAGE=1 (make coverage), after each suite's end:
#   @@kcov SUITE SECTION OFFSET...  (fencebuf's PCs the suite's tasks ran)
#   @@kcov-summary SUITE files=N lost=N overflows=N

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup

# The second ivshmem device (qemu/run-vm.sh) is VFIO's, the reference
# exporter: driver_override lets only vfio-pci bind it, so fencebuf, loaded
# later by the tests, never does. Where vfio-pci is not built in (Debian's
# kernel: a module this initramfs does not carry) the device stays unbound.
vfio_bdf=0000:01:03.0
if [ -e /sys/bus/pci/devices/$vfio_bdf ]; then
	echo vfio-pci >/sys/bus/pci/devices/$vfio_bdf/driver_override
	echo $vfio_bdf >/sys/bus/pci/drivers_probe 2>/dev/null
fi

out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null
exec >"$out" 2>&1

kmsg() { echo "fencebuf-guest: $*" >/dev/kmsg; }

# A heartbeat in the kernel log: the host ends a guest that stops beating
# (both CPUs spinning with interrupts off leave no watchdog to report it).
(while sleep 30; do echo "fencebuf-guest: alive" >/dev/kmsg; done) &

# Objects allocated during boot are not the tests' business: forget them.
kmemleak=/sys/kernel/debug/kmemleak
[ -w $kmemleak ] && echo clear >$kmemleak

suites=$(sed -n 's/.*fbtest\.suites=\([^ ]*\).*/\1/p' /proc/cmdline)
suite_timeout=$(sed -n 's/.*fbtest\.suite_timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
# The kernel's sync selftests take 10-15 minutes under TCG with this debug
# kernel, faultinject's two passes over every path about 12; fencebuf's
# other suites a few. Hitting a limit fails the suite.
suite_limit() {
	if [ -n "$suite_timeout" ]; then
		echo "$suite_timeout"
	else
		case "$1" in
		upstream-* | bench) echo 2400 ;;
		faultinject) echo 1500 ;;
		*) echo 600 ;;
		esac
	fi
}

# One suite's coverage files, merged: 32 offsets a line, by section.
report_coverage() {
	cat "$2"/* 2>/dev/null | awk -v s="$1" -v files="$(ls "$2" | wc -l)" '
		/^# lost/ { lost += $3; overflows += $5; next }
		!seen[$0]++ {
			n[$1]++
			line[$1] = line[$1] " " $2
			if (n[$1] % 32 == 0) { print "@@kcov " s " " $1 line[$1]; line[$1] = "" }
		}
		END {
			for (sec in line) if (line[sec] != "") print "@@kcov " s " " sec line[sec]
			printf "@@kcov-summary %s files=%d lost=%d overflows=%d\n", s, files, lost, overflows
		}'
}

# The races the stress suites look for need every CPU the host asked for.
echo "@@fencebuf cpus $(nproc) expected $(sed -n 's/.*fbtest\.cpus=\([0-9]*\).*/\1/p' /proc/cmdline)"

for s in $(echo "$suites" | tr , ' '); do
	echo "@@fencebuf suite-begin $s"
	kmsg "suite $s begin"
	limit=$(suite_limit "$s")
	if [ "${FENCEBUF_COVERAGE:-0}" = 1 ]; then
		# Every test program records its tasks' coverage here
		# (selftests/fencebuf_kcov.c).
		export FENCEBUF_KCOV=/tmp/kcov/$s
		mkdir -p "$FENCEBUF_KCOV"
	fi
	timeout "$limit" /fencebuf/suite.sh "$s"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 143 ]; then
		echo "# suite $s killed after $limit s"
		kmsg "suite $s killed after $limit s"
	fi
	kmsg "suite $s end rc=$rc"
	echo "@@fencebuf suite-end $s rc=$rc"
	if [ -n "${FENCEBUF_KCOV:-}" ]; then
		report_coverage "$s" "$FENCEBUF_KCOV"
		rm -rf "$FENCEBUF_KCOV"
		unset FENCEBUF_KCOV
	fi
done

# Leaks: two scans, as kmemleak needs to see an object unreferenced twice.
if [ -w $kmemleak ]; then
	echo scan >$kmemleak
	sleep 1
	echo scan >$kmemleak
	# Records of the Linux 7.3 leak that VFIO's exporter hits on every
	# mapping (FB_KNOWN_LEAK in selftests/fencebuf_test.h) count apart.
	counts=$(awk '/^unreferenced object/ { n++; if (v && s) known++; v = s = 0 }
		/vfio_pci_dma_buf_map/ { v = 1 }
		/sg_alloc_table/ { s = 1 }
		END { if (v && s) known++; print n - known + 0, known + 0 }' $kmemleak)
	cat $kmemleak
	echo "@@fencebuf kmemleak ${counts% *}"
	echo "@@fencebuf kmemleak-known ${counts#* } vfio_pci_dma_buf_map"
fi
echo "@@fencebuf done"
sync
reboot -f
