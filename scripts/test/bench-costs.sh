#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What fencebuf's safety properties cost, measured by taking each out: for
# every selftests/costs/NAME.patch (one property removed; its first lines
# say which, "# cost: ...", and the operations it is measured on, "# ops:
# a,b"), and for all of them at once, build fencebuf from a patched copy of
# the tree, repeat make bench's counted run with it, and compare its counts
# with the unpatched build's (scripts/report/count-report.py --costs).
# The patched builds are unsafe on purpose and run only here.
# Usage: bench-costs.sh KDIR BENCH_OUT   (make bench's perf kernel and build/bench)
# Writes BENCH_OUT/costs/costs.txt, the lines make bench adds to count.txt.
. "$(dirname "$0")/../lib.sh"

kdir=$1 out=$2
costs=$out/costs
rm -rf "$costs"
mapfile -t patches < <(ls "$FENCEBUF_ROOT"/selftests/costs/*.patch 2>/dev/null)
[ "${#patches[@]}" -gt 0 ] || die "no patches in selftests/costs"
names=()
for p in "${patches[@]}"; do names+=("$(basename "$p" .patch)"); done

# count NAME PATCH...: the counted run of fencebuf with PATCHes applied.
count() {
	local name=$1 dir=$costs/$1
	shift
	patched_tree "$dir/src" "$@"
	logged "building fencebuf without $name" "$dir/module-build.log" \
		make -C "$dir/src" --no-print-directory KDIR="$kdir" PINNED=1 \
		MODULE_OUT="$dir/module" IMPORTER_OUT="$dir/importer" modules ||
		die "the build without $name failed (log: $dir/module-build.log)"
	cp -a "$out/guest" "$dir/guest"
	install -m 0644 "$dir/module/fencebuf.ko" "$dir/guest/modules/fencebuf.ko"
	"$FENCEBUF_ROOT/qemu/mkinitramfs.sh" "$dir/initramfs.cpio.gz" "$dir/guest"
	say "the counted run without $name"
	"$FENCEBUF_ROOT/scripts/test/counted-run.sh" "$kdir/arch/x86/boot/bzImage" \
		"$dir/initramfs.cpio.gz" "$dir/guest" "$dir/count-logs" >"$dir/counted-run.log"
	python3 "$FENCEBUF_ROOT/scripts/report/report.py" --splats-only \
		--console "$dir/count-logs/console.log" || die "the run without $name splatted"
	python3 "$FENCEBUF_ROOT/scripts/report/count-report.py" "$dir/count-logs/tb-count.txt" \
		"$dir/count-logs/results.log" "$kdir/System.map" "$dir/module/fencebuf.ko" "$dir" \
		>/dev/null || die "no count report without $name"
	# The raw counts are large and read once.
	rm -f "$dir/count-logs/tb-count.txt"
	rm -rf "$dir/src" "$dir/guest"
}

for i in "${!patches[@]}"; do
	count "${names[$i]}" "${patches[$i]}"
done
# All at once: what is left of the difference to VFIO without any of them.
[ "${#patches[@]}" -lt 2 ] || count all "${patches[@]}"
python3 "$FENCEBUF_ROOT/scripts/report/count-report.py" --costs "$out/count.json" \
	"$FENCEBUF_ROOT/selftests/costs" "$costs" >"$costs/costs.txt"
