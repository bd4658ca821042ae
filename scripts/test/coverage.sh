#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make coverage`: which lines of fencebuf's Rust and C make check's guest
# suites run. The debug kernel has KCOV, fencebuf alone is instrumented
# (Kbuild), every test program records its tasks' PCs
# (selftests/fencebuf_kcov.c) and the host maps them to lines
# (scripts/report/coverage-report.py). Writes build/coverage/ and prints the
# per-file table and the total. Fails if a suite fails, a PC cannot be
# attributed, or (for the whole list) a line not run has no reason.
#   FENCEBUF_SUITES   the suites to measure (default: make check's debug list)
. "$(dirname "$0")/../lib.sh"

logs=$FENCEBUF_ROOT/build/logs/coverage
out=$FENCEBUF_ROOT/build/coverage
rc=0
# The stock kernel has no KCOV; lints do not run fencebuf's code.
FENCEBUF_COVERAGE=1 FENCEBUF_STOCK=0 FENCEBUF_SKIP_LINT=1 FENCEBUF_COUNT_SMOKE=0 FENCEBUF_LOGS=$logs \
	"$FENCEBUF_ROOT/scripts/test/check.sh" || rc=$?
rm -rf "$out"
# The whole of make check's list: every line not run needs its reason
# (scripts/report/unreached-reasons.txt).
complete=
[ -n "${FENCEBUF_SUITES:-}" ] || complete=--complete
python3 "$FENCEBUF_ROOT/scripts/report/coverage-report.py" --ko "$FENCEBUF_ROOT/build/module/fencebuf.ko" \
	--root "$FENCEBUF_ROOT" --results "$logs/results.log" --out "$out" \
	--llvm-suffix "-$LLVM_VERSION" $complete || rc=1
[ $rc -eq 0 ] || say "make coverage: a suite failed or the coverage could not be attributed (see above)"
exit $rc
