# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# How every script of the project talks: say, die, and long steps with
# progress. No project state: scripts/rust-metadata.sh, which the Debian
# package ships on its own, sources it too. Sourced, never executed.

say() { printf '[fencebuf] %s\n' "$*" >&2; }
die() {
	printf '[fencebuf] error: %s\n' "$*" >&2
	exit 1
}

# Run a long step, printing its elapsed time every 30 s so that a silent
# kernel build or download is visibly alive. Returns the step's status.
# Usage: progress LABEL cmd...
progress() {
	local label=$1 start pid rc=0 i=0
	shift
	start=$(date +%s)
	say "$label ..."
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		i=$((i + 1))
		if [ $((i % 30)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
			say "$label: still running ($(($(date +%s) - start)) s)"
		fi
	done
	wait "$pid" || rc=$?
	if [ "$rc" -eq 0 ]; then
		say "$label: done in $(($(date +%s) - start)) s"
	else
		say "$label: FAILED (exit $rc) after $(($(date +%s) - start)) s"
	fi
	return "$rc"
}

# As progress, but a failure ends the script.
with_progress() {
	progress "$@" || die "$1 failed"
}

# Run cmd... with its output in LOG (shown on failure), with progress.
# Usage: logged LABEL LOG cmd...
logged() {
	local label=$1 log=$2
	shift 2
	progress "$label" bash -c '"$@" >"$0" 2>&1' "$log" "$@" && return 0
	tail -n 30 "$log" >&2
	say "full log: $log"
	return 1
}
