#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run one named test suite in the guest; its TAP goes to stdout.
# Usage: suite.sh NAME

ko=/fencebuf/modules/fencebuf.ko
debugfs_sw_sync=/sys/kernel/debug/sync/sw_sync
suites=/fencebuf/suites

case "$1" in
install)
	# `make install` put the module, depmod's files and the udev rule in
	# this root (qemu/mkinitramfs.sh); udev applies the rule, as on a
	# user's machine.
	grep -q '^fencebuf ' /proc/modules && rmmod fencebuf
	mkdir -p /run/udev
	/lib/systemd/systemd-udevd --daemon || exit 1
	/fencebuf/tests/fencebuf_install_test
	rc=$?
	if [ $rc -ne 0 ]; then
		# What udev made of the rule, for whoever reads the failure.
		echo "# udevadm test of the nodes with dev_group=fbusers dev_mode=0660:"
		grep -q '^fencebuf ' /proc/modules && rmmod fencebuf
		modprobe fencebuf dev_group=fbusers dev_mode=0660
		for node in sw_sync 'fencebuf!0000:01:01.0'; do
			udevadm test --action=add "/sys/class/misc/$node" 2>&1 |
				grep -E 'rules|GROUP|MODE|ermission|rror|ail' | sed 's/^/#   /'
		done
		rmmod fencebuf
	fi
	udevadm control --exit
	exit $rc
	;;
upstream-sync)
	# The kernel's own sync selftests, unmodified, against fencebuf, through
	# the debugfs path they open. On a kernel without sw_sync (Debian's:
	# FENCEBUF_EXPECT_DEBUGFS=fencebuf) fencebuf provides that path itself;
	# where the C sw_sync has it (the debug kernel), fencebuf leaves it alone
	# and /dev/sw_sync is bind-mounted over it.
	grep -q '^fencebuf ' /proc/modules || insmod $ko || exit 1
	bound=0
	if [ "${FENCEBUF_EXPECT_DEBUGFS:-c}" = fencebuf ]; then
		# fencebuf's timelines print a "timeline:" line in their fdinfo.
		if ! (exec 3<$debugfs_sw_sync && grep -q '^timeline:' /proc/self/fdinfo/3); then
			echo "# $debugfs_sw_sync is not fencebuf's: $(stat -c '%F' $debugfs_sw_sync 2>&1)"
			exit 1
		fi
		echo "# $debugfs_sw_sync is fencebuf's own (the kernel has no sw_sync): no bind mount"
	else
		mount --bind /dev/sw_sync $debugfs_sw_sync || exit 1
		bound=1
		want=$(stat -c '%t:%T' /dev/sw_sync)
		got=$(stat -c '%F %t:%T' $debugfs_sw_sync)
		echo "# $debugfs_sw_sync is now: $got (fencebuf's /dev/sw_sync is $want)"
		[ "$got" = "character special file $want" ] || exit 1
	fi
	(cd /tmp && /fencebuf/upstream/sync_test)
	rc=$?
	[ $bound -eq 0 ] || umount $debugfs_sw_sync
	rmmod fencebuf
	exit $rc
	;;
kunit)
	# fencebuf's KUnit tests (rust/kunit.rs), built into the debug kernel's
	# module only: run through debugfs (the kernel runs none at load), and
	# their cases reported as this suite's TAP.
	grep -q '^fencebuf ' /proc/modules || insmod $ko || exit 1
	dir=/sys/kernel/debug/kunit/fencebuf
	if [ ! -w $dir/run ]; then
		echo "# no $dir/run: the module has no KUnit tests (a kernel without CONFIG_KUNIT=y?)"
		exit 1
	fi
	echo run >$dir/run || exit 1
	results=$(cat $dir/results)
	echo "$results" | sed 's/^/# /'
	cases=$(echo "$results" | sed -n 's/^ *\(\(not \)\{0,1\}ok [0-9][0-9]* [^#]*\)/\1/p' | grep -v '^ok 1 fencebuf$\|^not ok 1 fencebuf$')
	n=$(echo "$cases" | grep -c '^\(not \)\{0,1\}ok ')
	echo "1..$n"
	echo "$cases"
	rmmod fencebuf
	# The suite's own line says whether every case passed; no case at all
	# is a failure too.
	[ "$n" -gt 0 ] && echo "$results" | grep -q '^ok 1 fencebuf$'
	;;
upstream-sync-c)
	# The same suite against the kernel's C sw_sync, the reference.
	cd /tmp && exec /fencebuf/upstream/sync_test
	;;
demo)
	exec /fencebuf/demo.sh
	;;
bench)
	# Not TAP: @@bench lines for scripts/report/bench-report.py. The importer
	# attaches to both exporters' buffers.
	insmod $ko || exit 1
	insmod /fencebuf/modules/fencebuf_importer.ko || exit 1
	# shellcheck disable=SC2046
	exec /fencebuf/tests/fencebuf_bench $(cat /fencebuf/bench-args 2>/dev/null)
	;;
count)
	# Not TAP: @@count lines for scripts/report/count-report.py, under the
	# plugin; FENCEBUF_COUNT_N: fewer operations (make check's short run).
	insmod $ko || exit 1
	insmod /fencebuf/modules/fencebuf_importer.ko || exit 1
	exec /fencebuf/tests/fencebuf_count ${FENCEBUF_COUNT_N:+-n "$FENCEBUF_COUNT_N"}
	;;
fuzz-random | fuzz-guided)
	# The fuzzer in one mode, from nothing, for comparing the two
	# (scripts/test/fuzz.sh).
	FENCEBUF_FUZZ_MODE=${1#fuzz-} exec /fencebuf/tests/fencebuf_fuzz_test
	;;
fuzz)
	# Guided (FENCEBUF_FUZZ_MODE=guided) starts from the corpus earlier
	# runs kept in build/fuzz/corpus (scripts/test/check.sh copies it in).
	FENCEBUF_FUZZ_CORPUS=/fencebuf/fuzz-corpus exec /fencebuf/tests/fencebuf_fuzz_test
	;;
*)
	# Any other suite of the table (selftests/suites, copied in by
	# qemu/mkinitramfs.sh) is its program: fencebuf_NAME_test, - as _.
	if awk -v s="$1" '!/^#/ && $1 == s { found = 1 } END { exit !found }' "$suites"; then
		exec /fencebuf/tests/fencebuf_"$(echo "$1" | tr - _)"_test
	fi
	echo "1..1"
	echo "not ok 1 $1 # no such suite"
	exit 1
	;;
esac
