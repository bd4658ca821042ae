# shellcheck shell=bash
# Shared helpers for the qemu/*.sh scripts. Sourced, never executed.

set -euo pipefail

FENCEBUF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=qemu/pins.env
. "$FENCEBUF_ROOT/qemu/pins.env"

# Everything big lives outside the repository so that a fresh clone reuses it.
FENCEBUF_CACHE=${FENCEBUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fencebuf}
BINDGEN=${BINDGEN:-$FENCEBUF_CACHE/tools/bin/bindgen}
export LIBCLANG_PATH

say() { printf '[fencebuf] %s\n' "$*" >&2; }
die() {
	printf '[fencebuf] error: %s\n' "$*" >&2
	exit 1
}

# Run a privileged command: directly as root, through sudo otherwise.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root for: $* (run as root or install sudo)"
	fi
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

# Key of the cached kernel build for config fragment $1: changes whenever the
# pins or the fragment change, and only then.
kernel_key() {
	cat "$FENCEBUF_ROOT/qemu/pins.env" "$1" | sha256sum | cut -c1-16
}

kernel_src_dir() { echo "$FENCEBUF_CACHE/src/linux-$KERNEL_PKG_VERSION"; }

# Make variables that select the pinned toolchain for any kernel build.
kmake_vars() {
	echo "LLVM=-$LLVM_VERSION RUSTC=$RUSTC BINDGEN=$BINDGEN CLIPPY_DRIVER=$CLIPPY_DRIVER RUSTFMT=$RUSTFMT"
}

# run_one_suite KERNEL INITRD LOGDIR SUITE TIMEOUT: boot the guest for one
# suite, show its output without the runner's @@ protocol lines, and succeed
# only if the suite ended with rc=0.
run_one_suite() {
	local logs=$3 suite=$4
	"$FENCEBUF_ROOT/qemu/run-vm.sh" "$1" "$2" "$logs" "$suite" "$5" | grep -v '^@@'
	grep -q "^@@fencebuf suite-end $suite rc=0" <(tr -d '\r' <"$logs/results.log")
}
