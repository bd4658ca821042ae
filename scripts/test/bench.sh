#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: build (or reuse) the perf kernel, boot it three times, run
# selftests/fencebuf_bench.c against the kernel's C sw_sync and fencebuf,
# interleaved, and the exporter against VFIO's on a second ivshmem device and
# against a direct mapping of the same BAR;
# then write the tables and JSON (scripts/report/bench-report.py), and
# the tables benchmarks.rst shows (Documentation/fencebuf/bench/).
#   FENCEBUF_BENCH_ARGS   arguments for the guest program (default "-r 9")
#   FENCEBUF_BENCH_RUNS   timed boots (default 3); runs.txt has each row's median
#   FENCEBUF_BENCH_COSTS  0: no counted runs of the builds without a safety
#                         property (scripts/test/bench-costs.sh)
. "$(dirname "$0")/../lib.sh"

build=$FENCEBUF_ROOT/build
out=$build/bench
logs=$out/logs
rm -rf "$logs" "$out/guest" "$out/count-logs" "$out"/run-*
mkdir -p "$logs"

"$FENCEBUF_ROOT/scripts/toolchain/setup-toolchain.sh"
kdir=$("$FENCEBUF_ROOT/scripts/kernel/build-kernel.sh" "$FENCEBUF_ROOT/scripts/kernel/kernel-perf.config")
src=$(kernel_src_dir)

logged "building fencebuf.ko for the perf kernel" "$logs/module-build.log" \
	make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kdir" PINNED=1 \
	MODULE_OUT="$out/module" IMPORTER_OUT="$out/importer" modules ||
	die "module build failed (log: $logs/module-build.log)"
logged "building the benchmark" "$logs/bench-build.log" \
	make -C "$FENCEBUF_ROOT/selftests" --no-print-directory KSRC="$src" \
	KHDR="$kdir/usr/include" OUT="$out/guest" tests ||
	die "benchmark build failed (log: $logs/bench-build.log)"
install -D -m 0644 "$out/module/fencebuf.ko" "$out/guest/modules/fencebuf.ko"
install -D -m 0644 "$out/importer/fencebuf_importer.ko" "$out/guest/modules/fencebuf_importer.ko"
echo "${FENCEBUF_BENCH_ARGS:--r 9}" >"$out/guest/bench-args"
"$FENCEBUF_ROOT/qemu/mkinitramfs.sh" "$out/initramfs.cpio.gz" "$out/guest"

# Timed ratios move by up to 10% from boot to boot: a claim rests on the
# median of several boots' ratios (runs.txt), not on one boot.
rc=0
runs=${FENCEBUF_BENCH_RUNS:-3}
case $runs in '' | *[!0-9]* | 0) die "FENCEBUF_BENCH_RUNS must be a positive number, not '$runs'" ;; esac
jsons=()
for i in $(seq 1 "$runs"); do
	say "timed boot $i of $runs"
	run_one_suite "$kdir/arch/x86/boot/bzImage" "$out/initramfs.cpio.gz" "$logs/run-$i" bench 1800 ||
		die "the benchmark did not finish; see $logs/run-$i/results.log and $logs/run-$i/console.log"
	python3 "$FENCEBUF_ROOT/scripts/report/report.py" --splats-only --console "$logs/run-$i/console.log" || rc=1
	python3 "$FENCEBUF_ROOT/scripts/report/bench-report.py" "$logs/run-$i/results.log" "$out/run-$i" >/dev/null || rc=1
	jsons+=("$out/run-$i/results.json")
done
# The same operations counted instead of timed: a second boot under TCG
# with qemu/tb-count-plugin.c, one host thread (exact counters).
counted=$out/count-logs
"$FENCEBUF_ROOT/scripts/test/counted-run.sh" "$kdir/arch/x86/boot/bzImage" "$out/initramfs.cpio.gz" \
	"$out/guest" "$counted"
python3 "$FENCEBUF_ROOT/scripts/report/report.py" --splats-only --console "$counted/console.log" || rc=1
python3 "$FENCEBUF_ROOT/scripts/report/count-report.py" "$counted/tb-count.txt" "$counted/results.log" \
	"$kdir/System.map" "$out/module/fencebuf.ko" "$out" || rc=1
# What each safety property costs, counted the same way without it
# (selftests/costs); FENCEBUF_BENCH_COSTS=0 skips it (about 90 s each).
if [ "${FENCEBUF_BENCH_COSTS:-1}" != 0 ]; then
	if "$FENCEBUF_ROOT/scripts/test/bench-costs.sh" "$kdir" "$out"; then
		tee -a "$out/count.txt" <"$out/costs/costs.txt"
	else
		rc=1
	fi
fi

# The last boot's full table (values and ratios), every boot's ratios, and
# for each row below 1.0x the counted run's accounting of the operation.
cp "$out/run-$runs/results.txt" "$out/run-$runs/results.json" "$out/"
cat "$out/results.txt"
python3 "$FENCEBUF_ROOT/scripts/report/bench-report.py" --runs --counted "$out/count.json" \
	"${jsons[@]}" >"$out/runs.txt" || rc=1
cat "$out/runs.txt"
# The tables of Documentation/fencebuf/benchmarks.rst: written by the run
# that measured them, saying what it measured, and only by a full run
# (FENCEBUF_BENCH_ARGS unset) that passed.
if [ $rc -eq 0 ] && [ -z "${FENCEBUF_BENCH_ARGS:-}" ]; then
	pub=$FENCEBUF_ROOT/Documentation/fencebuf/bench
	mkdir -p "$pub"
	# "-dirty" only for changes to what runs, not to the documentation.
	rev=$(git -C "$FENCEBUF_ROOT" rev-parse --short HEAD 2>/dev/null || echo '(no git)')
	git -C "$FENCEBUF_ROOT" diff --quiet HEAD -- . ':!Documentation' ':!*.md' 2>/dev/null || rev+=-dirty
	about="make bench on fencebuf $rev,"
	about+=" guest kernel $(cat "$kdir/include/config/kernel.release") (perf configuration) under TCG,"
	about+=" host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	{
		echo "$about"
		echo
		cat "$out/runs.txt"
		echo
		echo "The last of the $runs boots in full:"
		echo
		cat "$out/results.txt"
	} >"$pub/timed.txt"
	{ echo "$about"; echo; cat "$out/count.txt"; } >"$pub/counted.txt"
	say "tables for benchmarks.rst: $pub/timed.txt, $pub/counted.txt"
fi
exit $rc
