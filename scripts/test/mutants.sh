#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make mutants`: prove the tests can fail. Each selftests/mutants/NAME.patch
# breaks one behaviour on purpose; its first line names the suites that must
# catch it:   # suites: module,timeline   (stock:NAME: on the stock kernel)
# The patch is applied to a copy of the tree, the module built and the suites
# run in the guest; the mutant is "killed" when the run fails. Prints one TAP
# line per mutant and "N passed, N failed" (passed = killed).
# FENCEBUF_MUTANTS=a,b runs only some.
. "$(dirname "$0")/../lib.sh"

build=$FENCEBUF_ROOT/build/mutants
rm -rf "$build"
mkdir -p "$build"
"$FENCEBUF_ROOT/scripts/toolchain/setup-toolchain.sh"
kdir=$("$FENCEBUF_ROOT/scripts/kernel/build-kernel.sh" "$FENCEBUF_ROOT/scripts/kernel/kernel-debug.config")

# FENCEBUF_MUTANTS=a,b runs only those mutants (names without .patch).
if [ -n "${FENCEBUF_MUTANTS:-}" ]; then
	patches=()
	for m in ${FENCEBUF_MUTANTS//,/ }; do
		[ -f "$FENCEBUF_ROOT/selftests/mutants/$m.patch" ] || die "no mutant $m"
		patches+=("$FENCEBUF_ROOT/selftests/mutants/$m.patch")
	done
else
	mapfile -t patches < <(ls "$FENCEBUF_ROOT"/selftests/mutants/*.patch)
fi
[ "${#patches[@]}" -gt 0 ] || die "no mutants in selftests/mutants"
# A host check that fails on the unmutated tree would count as a kill for
# every mutant: the tree must pass them first (those of the debug kernel;
# the stock kernels' run only with a boot).
logged "the host checks on the unmutated tree" "$build/baseline.log" \
	env FENCEBUF_SKIP_LINT=1 FENCEBUF_SUITES='' FENCEBUF_STOCK=0 FENCEBUF_LOGS="$build/baseline" \
	"$FENCEBUF_ROOT/scripts/test/check.sh" ||
	die "the unmutated tree fails make check's host checks (log: $build/baseline.log): fix that first"
killed=0 survived=0 n=0
echo "1..${#patches[@]}"
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	suites=$(sed -n '1s/^# suites: *//p' "$p")
	[ -n "$suites" ] || die "$p: first line must be '# suites: a,b'"
	n=$((n + 1))
	tree=$build/$name/src
	patched_tree "$tree" "$p"
	say "mutant $name: running $suites"
	rc=0
	# stock:NAME suites run on the newest stock kernel, the others on the
	# debug kernel.
	debug_suites= stock_suites=
	for s in ${suites//,/ }; do
		case $s in
		stock:*) stock_suites+=${stock_suites:+,}${s#stock:} ;;
		*) debug_suites+=${debug_suites:+,}$s ;;
		esac
	done
	FENCEBUF_VM_TIMEOUT=${FENCEBUF_VM_TIMEOUT:-900} FENCEBUF_SKIP_LINT=1 FENCEBUF_COUNT_SMOKE=0 FENCEBUF_SUITES=$debug_suites \
		FENCEBUF_STOCK_SUITES=$stock_suites FENCEBUF_STOCK_KERNELS=${STOCK_KERNELS%% *} "$tree/scripts/test/check.sh" >"$build/$name/check.log" 2>&1 || rc=$?
	# A failed build is the mutant's fault, not a catch; other host checks
	# (the packaging ones) may catch a mutant like any test.
	if grep -qE '^  - host: (module-build|selftests-build|stock-module-build)\b' "$build/$name/check.log"; then
		survived=$((survived + 1))
		echo "not ok $n $name: the mutant does not build (log: $build/$name/check.log)"
	elif [ $rc -ne 0 ]; then
		killed=$((killed + 1))
		echo "ok $n $name killed ($(tail -n 1 "$build/$name/check.log"))"
	else
		survived=$((survived + 1))
		echo "not ok $n $name survived: the tests did not notice (log: $build/$name/check.log)"
	fi
done
echo "$killed passed, $survived failed"
[ $survived -eq 0 ]
