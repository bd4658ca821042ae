#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel + initramfs in QEMU, run guest suites, stream their results.
# Usage: run-vm.sh KERNEL INITRD LOGDIR SUITES [VM_TIMEOUT_S]
#   SUITES: comma-separated suite names (qemu/guest-suite.sh)
# Writes LOGDIR/console.log (kernel log, ttyS0) and LOGDIR/results.log (test
# output, ttyS1). Exit: 0 the guest finished, 2 hard timeout, 3 the guest
# died before finishing (panic, crash), 4 the guest hung (no heartbeat),
# 5 QEMU itself crashed (killed by a signal we did not send).
. "$(dirname "$0")/../scripts/lib.sh"

# Absolute: the pinned QEMU runs in a root whose working directory is /.
kernel=$(realpath -m "$1") initrd=$(realpath -m "$2") logdir=$(realpath -m "$3") suites=$4
vm_timeout=${5:-${FENCEBUF_VM_TIMEOUT:-3600}}
# Per-suite limits are the guest's (qemu/guest-init.sh) unless overridden.
suite_timeout=${FENCEBUF_SUITE_TIMEOUT:+fbtest.suite_timeout=$FENCEBUF_SUITE_TIMEOUT}
# The tests' knobs, set on the host, reach the guest's tests through the
# kernel command line: the kernel puts NAME=VALUE words into init's
# environment. Unset ones keep the tests' defaults.
guest_env=
for var in FENCEBUF_STRESS_SECONDS FENCEBUF_FUZZ_SECONDS FENCEBUF_FUZZ_SEED FENCEBUF_FI_FULL \
	FENCEBUF_FI_VERBOSE FENCEBUF_FI_PATH FENCEBUF_EXPECT_DEBUGFS FENCEBUF_COVERAGE \
	FENCEBUF_FUZZ_MODE FENCEBUF_GUEST_KERNEL FENCEBUF_COUNT_N; do
	val=${!var:-}
	[ -n "$val" ] || continue
	[[ $val =~ ^[A-Za-z0-9_]+$ ]] || die "$var must be a number or a name, not '$val'"
	guest_env+=" $var=$val"
done
mkdir -p "$logdir"
: >"$logdir/console.log"
: >"$logdir/results.log"

# KVM only where it really works: a nested guest without vmx/svm has a
# /dev/kvm that hangs the guest (NOTES §2). FENCEBUF_ACCEL overrides.
accel=${FENCEBUF_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		accel=kvm
	fi
fi
# FENCEBUF_QEMU_PLUGIN: a TCG plugin and its arguments (`make bench` counts
# the guest's kernel code with qemu/tb-count-plugin.c).
plugin_args=()
if [ -n "${FENCEBUF_QEMU_PLUGIN:-}" ]; then
	[ "$accel" = tcg ] || die "FENCEBUF_QEMU_PLUGIN needs FENCEBUF_ACCEL=tcg"
	plugin_args=(-plugin "$FENCEBUF_QEMU_PLUGIN")
fi
case $accel in
kvm) accel_args=(-accel kvm -cpu host) ;;
# FENCEBUF_TCG_THREADS=single: one host thread runs every vCPU in turn, so
# QEMU's own vCPU threads cannot race (scripts/test/check.sh says when that matters).
tcg) accel_args=(-accel "tcg,thread=${FENCEBUF_TCG_THREADS:-multi}" -cpu max) ;;
*) die "FENCEBUF_ACCEL must be kvm or tcg" ;;
esac

# The emulator: the pinned QEMU (scripts/toolchain/pins.env, QEMU_PKGS) in
# its Debian 13 root, entered through scripts/toolchain/in-root.sh, which
# sees the project, the cache, /dev (the ivshmem files in /dev/shm) and the
# directories named here. FENCEBUF_QEMU=system: the host's own
# qemu-system-x86_64 instead (a user's workstation with KVM, say).
qemu_cmd=(qemu-system-x86_64)
if [ "${FENCEBUF_QEMU:-pinned}" != system ]; then
	qemu_root=$("$FENCEBUF_ROOT/scripts/toolchain/trixie-root.sh" qemu) ||
		die "the pinned QEMU's root could not be made (FENCEBUF_QEMU=system uses the host's QEMU)"
	qemu_cmd=("$FENCEBUF_ROOT/scripts/toolchain/in-root.sh" "$qemu_root" qemu-system-x86_64)
	binds="$(dirname "$kernel") $(dirname "$initrd") $logdir"
	[ -z "${FENCEBUF_QEMU_PLUGIN:-}" ] ||
		binds+=" $(dirname "$(realpath "${FENCEBUF_QEMU_PLUGIN%%,*}")")"
	export FENCEBUF_ROOT_BINDS=$binds
fi
qemu_version=$("${qemu_cmd[@]}" --version | head -n1)

# Without ACPI the guest finds CPUs in SeaBIOS's MP table, which lists one
# CPU per socket: so one socket per CPU. The guest checks it got them all.
# FENCEBUF_VM_CPUS: another count (scripts/test/counted-run.sh runs with one).
cpus=${FENCEBUF_VM_CPUS:-2}

# The exporter's PCI device: ivshmem whose BAR2 is this host file, so tests
# can check from outside the guest what reached device memory.
# FENCEBUF_VM_MACHINE picks the machine around it:
#   pc   (default) conventional PCI. The device sits behind a PCI bridge with
#        the sample importer's device (pci-testdev): a common upstream bridge
#        lets the importer reach the BAR peer to peer (0000:01:01.0 and
#        0000:01:02.0). A second ivshmem device behind the same bridge
#        (0000:01:03.0) is VFIO's: the guest binds it to vfio-pci
#        (qemu/guest-init.sh), so the importer suite and the benchmarks
#        compare the two exporters on the same kind of device in one boot.
#   q35  PCIe, for the aer suite: the device is function 0 of the only slot
#        behind a root port (0000:01:00.0) whose AER capability takes
#        injected errors, with a second ivshmem function beside it
#        (0000:01:00.1): recovery succeeds only while every function below
#        the port has a driver with error handlers. The importer's device is
#        on the root bus, outside the port's recovery.
machine=${FENCEBUF_VM_MACHINE:-pc}
case $machine in
pc) devices=(
	-device pci-bridge,id=p2p,chassis_nr=1,shpc=off,addr=04.0
	-device ivshmem-plain,memdev=hostmem,bus=p2p,addr=01.0
	-device pci-testdev,bus=p2p,addr=02.0
	-device ivshmem-plain,memdev=secondmem,bus=p2p,addr=03.0) ;;
q35) devices=(
	-device pcie-root-port,id=rp,chassis=1,slot=1,bus=pcie.0,addr=04.0
	-device ivshmem-plain,memdev=hostmem,bus=rp,addr=00.0,multifunction=on
	-device ivshmem-plain,memdev=secondmem,bus=rp,addr=00.1
	-device pci-testdev,bus=pcie.0,addr=05.0) ;;
*) die "FENCEBUF_VM_MACHINE must be pc or q35, not '$machine'" ;;
esac
shm=/dev/shm/fencebuf-$$
second_shm=/dev/shm/fencebuf-$$-second
qemu=
# Interrupted or not, leave no VM and no backing file behind.
cleanup() {
	[ -z "$qemu" ] || kill "$qemu" 2>/dev/null || true
	rm -f "$shm" "$second_shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
truncate -s 4M "$shm" "$second_shm"

# no5lvl: with TCG's `-cpu max` the guest uses 5-level paging, and once this
# KASAN kernel reported a wild access in rcu_is_watching() when a timer
# interrupt hit identify_cpu() early in boot, before any module. Kept to the
# 4-level paging KASAN is most used with.
"${qemu_cmd[@]}" -M "$machine" -nodefaults -no-user-config -no-reboot \
	"${accel_args[@]}" -smp "$cpus,sockets=$cpus,cores=1,threads=1" -m 2G \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 no5lvl panic=1 oops=panic softlockup_panic=1 loglevel=7 fbtest.cpus=$cpus fbtest.suites=$suites vfio.enable_unsafe_noiommu_mode=1 $suite_timeout$guest_env" \
	-display none -monitor none "${plugin_args[@]}" \
	-serial "file:$logdir/console.log" -serial "file:$logdir/results.log" \
	-object "memory-backend-file,id=hostmem,size=4M,share=on,mem-path=$shm" \
	-object "memory-backend-file,id=secondmem,size=4M,share=on,mem-path=$second_shm" \
	"${devices[@]}" \
	>"$logdir/qemu.log" 2>&1 &
qemu=$!
say "VM started ($qemu_version, $accel${FENCEBUF_TCG_THREADS:+ ${FENCEBUF_TCG_THREADS}-threaded}, $cpus vCPUs," \
	"pid $qemu, suites: $suites, timeout ${vm_timeout}s); logs in $logdir"

# Stream the results as they come; stop at the deadline.
# (Not the coverage and corpus data: build/logs has them.)
tail -n +1 -f --pid="$qemu" "$logdir/results.log" | sed -u -e 's/\r$//' -e '/^@@kcov /d' -e '/^@@fuzz-corpus /d' &
tailer=$!
start=$(date +%s)
# The guest logs a heartbeat every 30 s (qemu/guest-init.sh).
silence_limit=${FENCEBUF_SILENCE_LIMIT:-300}
# The exporter suite's requests to fill or check device memory from here
# (qemu/ivshmem.py), each served once, in order, while its test waits.
served=0
serve_ivshmem() {
	local reqs i
	mapfile -t reqs < <(grep -a '^@@fencebuf ivshmem ' "$logdir/results.log" | tr -d '\r')
	for ((i = served; i < ${#reqs[@]}; i++)); do
		# shellcheck disable=SC2086 # "@@fencebuf ivshmem CMD SEQ": CMD SEQ
		set -- ${reqs[i]}
		"$FENCEBUF_ROOT/qemu/ivshmem.py" "$3" "$4" "$shm" ||
			say "ivshmem request '${reqs[i]}' failed"
	done
	served=${#reqs[@]}
}
rc=0
while kill -0 "$qemu" 2>/dev/null; do
	serve_ivshmem
	now=$(date +%s)
	if [ $((now - start)) -ge "$vm_timeout" ]; then
		kill "$qemu" 2>/dev/null
		rc=2
		break
	fi
	if [ $((now - $(stat -c %Y "$logdir/console.log"))) -ge "$silence_limit" ]; then
		kill "$qemu" 2>/dev/null
		rc=4
		break
	fi
	sleep 1
done
qrc=0
wait "$qemu" 2>/dev/null || qrc=$?
wait "$tailer" 2>/dev/null || true
qemu=

running=$(tr -d '\r' <"$logdir/results.log" | sed -n 's/^@@fencebuf suite-begin //p' | tail -n1)
if [ $rc -eq 4 ]; then
	say "VM HUNG: no kernel log for ${silence_limit} s, killed (suite running:" \
		"${running:-none}); see $logdir/console.log"
elif [ $rc -eq 2 ]; then
	say "VM TIMEOUT: killed after ${vm_timeout} s (suite running: ${running:-none}); see" \
		"$logdir/console.log"
elif [ $qrc -gt 128 ] && ! grep -q '^@@fencebuf done' <(tr -d '\r' <"$logdir/results.log"); then
	# Seen with Debian 12's QEMU 7.2 (multi-threaded TCG) while the
	# exporter stress toggled the ivshmem BAR's memory decoding: a segfault
	# in QEMU, not a guest failure.
	rc=5
	say "QEMU ITSELF CRASHED (signal $((qrc - 128))) while the guest ran suite" \
		"${running:-none}: an emulator bug, not a guest failure; the guest's log:" \
		"$logdir/console.log"
elif ! grep -q '^@@fencebuf done' <(tr -d '\r' <"$logdir/results.log"); then
	rc=3
	say "the VM ended before the guest finished; see $logdir/console.log"
	tail -n 30 "$logdir/console.log" | tr -d '\r' >&2
fi
say "VM finished in $(($(date +%s) - start)) s"
exit $rc
