#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Every mutant of make mutants (selftests/mutants/*.patch) still applies to
# the tree and names suites that exist: a change that moves the code a
# mutant breaks fails here, at once, not an hour into make mutants. So do
# make bench's builds without a safety property (selftests/costs/*.patch).
. "$(dirname "$0")/../lib.sh"

cd "$FENCEBUF_ROOT"
known=,$(suites_table | awk '{ print $1 }' | paste -sd, -),
bad=0 n=0
for p in selftests/mutants/*.patch; do
	n=$((n + 1))
	suites=$(sed -n '1s/^# suites: *//p' "$p")
	if [ -z "$suites" ]; then
		say "$p: its first line must be '# suites: a,b'"
		bad=$((bad + 1))
		continue
	fi
	for s in ${suites//,/ }; do
		case $known in
		*,"${s#stock:}",*) ;;
		*)
			say "$p: no suite '${s#stock:}' in selftests/suites"
			bad=$((bad + 1))
			;;
		esac
	done
	if ! out=$(patch -p1 --dry-run -s -f <"$p" 2>&1); then
		say "$p does not apply: $out"
		bad=$((bad + 1))
	fi
done
[ "$n" -gt 0 ] || die "no mutants in selftests/mutants"
c=0
for p in selftests/costs/*.patch; do
	c=$((c + 1))
	if ! sed -n 1p "$p" | grep -q '^# cost: ' || ! sed -n 2p "$p" | grep -q '^# ops: '; then
		say "$p: its first lines must be '# cost: what it takes out' and '# ops: a,b'"
		bad=$((bad + 1))
	fi
	if ! out=$(patch -p1 --dry-run -s -f <"$p" 2>&1); then
		say "$p does not apply: $out"
		bad=$((bad + 1))
	fi
done
[ "$c" -gt 0 ] || die "no patches in selftests/costs"
[ $bad -eq 0 ] || die "$bad problem(s) in the $n mutants and $c cost patches above"
say "mutants: all $n apply and name existing suites; the $c cost patches apply"
