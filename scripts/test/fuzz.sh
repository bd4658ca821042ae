#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make fuzz`: coverage-guided fuzzing against the random fuzzer, the same
# time each, one after the other in one boot of the debug kernel (the same
# settings for both), from an empty corpus. Reports the lines of fencebuf
# each reached (KCOV; scripts/report/coverage-report.py --compare) and their
# growth over time, and keeps the guided run's corpus in build/fuzz/corpus,
# where the fuzz suite's guided mode (FENCEBUF_FUZZ_MODE=guided) starts from.
# Both runs make the fuzz suite's end checks; a failed one fails make fuzz.
#   FENCEBUF_FUZZ_MINUTES   each mode's time (default 10)
. "$(dirname "$0")/../lib.sh"

minutes=${FENCEBUF_FUZZ_MINUTES:-10}
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || die "FENCEBUF_FUZZ_MINUTES: whole minutes, at least 1"
out=$FENCEBUF_ROOT/build/fuzz
logs=$FENCEBUF_ROOT/build/logs/fuzz
secs=$((minutes * 60))
say "make fuzz: random, then guided, $minutes min each"
rc=0
FENCEBUF_SUITES=fuzz-random,fuzz-guided FENCEBUF_FUZZ_SECONDS=$secs FENCEBUF_COVERAGE=1 \
	FENCEBUF_STOCK=0 FENCEBUF_SKIP_HOST=1 FENCEBUF_LOGS=$logs \
	FENCEBUF_SUITE_TIMEOUT=$((secs + 900)) FENCEBUF_VM_TIMEOUT=$((2 * secs + 2400)) \
	"$FENCEBUF_ROOT/scripts/test/check.sh" || rc=$?

# The guided run's corpus (build/fuzz/corpus) and both runs' growth.
python3 "$FENCEBUF_ROOT/scripts/report/fuzz-report.py" "$logs/results.log" "$out/corpus" \
	"$out/growth.txt" || rc=1
python3 "$FENCEBUF_ROOT/scripts/report/coverage-report.py" --ko "$FENCEBUF_ROOT/build/module/fencebuf.ko" \
	--root "$FENCEBUF_ROOT" --results "$logs/results.log" --out "$out/coverage" \
	--llvm-suffix "-$LLVM_VERSION" --compare fuzz-random fuzz-guided || rc=1
exit $rc
