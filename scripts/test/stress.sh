#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make stress DURATION=30m`: the reliability suites for about DURATION (s, m
# or h; default 30m) on the debug kernel, then as long on Debian's stock
# kernel, ending in "N passed, N failed" and a line with the fuzz
# iterations, fault points and leaked objects.
#
# The time goes, roughly: a quarter to the stress suites (each of their
# tests runs DURATION/30), the lifecycle suite and the allocation-failure
# suite (about 5 minutes; from 30m on, about 15, failing every allocation of
# a module load rather than its last ones), and the rest to the fuzzer.
#   FENCEBUF_FUZZ_SEED   replay a fuzzer run (the seed it printed)
. "$(dirname "$0")/../lib.sh"

duration=${1:-30m}
[[ $duration =~ ^([0-9]+)([smh]?)$ ]] ||
	die "DURATION: a number with s, m or h, like 30m (got '$duration')"
case ${BASH_REMATCH[2]} in
h) secs=$((BASH_REMATCH[1] * 3600)) ;;
m) secs=$((BASH_REMATCH[1] * 60)) ;;
*) secs=${BASH_REMATCH[1]} ;;
esac
[ "$secs" -ge 600 ] || die "DURATION: at least 10m (the fixed suites take about 5 minutes)"

fixed=300
if [ "$secs" -ge 1800 ]; then
	export FENCEBUF_FI_FULL=1
	fixed=900
fi
stress=$((secs / 30))
# Seven stress tests in the stress and exporter-stress suites; their
# harness timeouts (3600 s) leave the limit to the suite timeout below.
fuzz=$((secs - fixed - 7 * stress))
say "stress run of about $((secs / 60)) min: each stress test ${stress} s, the fuzzer ${fuzz} s"
export FENCEBUF_STRESS_SECONDS=$stress FENCEBUF_FUZZ_SECONDS=$fuzz
# The reliability suites: STRESS yes in selftests/suites, on the debug
# kernel and then on Debian's stock kernel (FENCEBUF_STOCK=0: the debug
# kernel only), each for about DURATION. The stock kernel lacks fault
# injection and kmemleak (CONFIG_FAULT_INJECTION, CONFIG_DEBUG_KMEMLEAK are
# not set): the allocation-failure suite and the leak scans skip there,
# saying so; everything else runs as on the debug kernel.
# Of the stock kernels, the newest (FENCEBUF_STOCK_KERNELS picks others).
FENCEBUF_SUITES=$(suite_list stress)
FENCEBUF_STOCK_SUITES=$FENCEBUF_SUITES
FENCEBUF_STOCK_KERNELS=${FENCEBUF_STOCK_KERNELS:-${STOCK_KERNELS%% *}}
export FENCEBUF_SUITES FENCEBUF_STOCK_SUITES FENCEBUF_STOCK_KERNELS
export FENCEBUF_SKIP_HOST=1 FENCEBUF_LOGS=$FENCEBUF_ROOT/build/logs/stress
# Limits: the fuzzer's suite runs longest; the VM gets the whole budget and
# half an hour for booting, kmemleak scans and slow emulation.
export FENCEBUF_SUITE_TIMEOUT=$(((fuzz > 1200 ? fuzz : 1200) + 900)) FENCEBUF_VM_TIMEOUT=$((secs + 1800))
exec "$FENCEBUF_ROOT/scripts/test/check.sh"
