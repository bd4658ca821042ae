#!/usr/bin/env bash
# `make check`: set everything up, run the lint gates on the host and every
# suite in the guest, and print a summary ending in "N passed, N failed".
#   FENCEBUF_SUITES      the guest suites to run (default: all)
#   FENCEBUF_SKIP_LINT   set: no rustfmt and clippy gates
#   FENCEBUF_SKIP_HOST   set: only the builds among the host checks
#   FENCEBUF_LOGS        where the logs go (default build/logs/check)
. "$(dirname "$0")/lib.sh"

build=$FENCEBUF_ROOT/build
logs=${FENCEBUF_LOGS:-$build/logs/check}
suites=${FENCEBUF_SUITES:-module,timeline,stress,exporter,exporter-stress,importer,lifecycle,faultinject,fuzz,install,upstream-sync}
rm -rf "$logs" "$build/guest"
mkdir -p "$logs"
host_tap=$logs/host.tap
: >"$host_tap"
n=0
# host_check NAME CMD...: run a host-side gate, record it as a TAP result.
host_check() {
	local name=$1
	shift
	n=$((n + 1))
	if logged "$name" "$logs/host-$name.log" "$@"; then
		echo "ok $n $name" >>"$host_tap"
		return 0
	fi
	echo "not ok $n $name (log: $logs/host-$name.log)" >>"$host_tap"
	return 1
}

# The libraries the guest's udevadm links (install suite; qemu/mkinitramfs.sh).
FENCEBUF_EXTRA_PKGS="libkmod2 libacl1 libblkid1 libcap2 libselinux1 libzstd1 liblzma5 libssl3 libpcre2-8-0" \
	"$FENCEBUF_ROOT/qemu/setup-toolchain.sh"
kdir=$("$FENCEBUF_ROOT/qemu/build-kernel.sh" "$FENCEBUF_ROOT/qemu/kernel-debug.config")
src=$(kernel_src_dir)

if [ -z "${FENCEBUF_SKIP_LINT:-}${FENCEBUF_SKIP_HOST:-}" ]; then
	host_check rustfmt "$FENCEBUF_ROOT/qemu/rustfmt-check.sh" || true
	host_check clippy make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kdir" PINNED=1 clippy || true
fi
built=0
host_check module-build make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kdir" PINNED=1 modules && built=1
host_check selftests-build make -C "$FENCEBUF_ROOT/selftests" --no-print-directory \
	KSRC="$src" KHDR="$kdir/usr/include" OUT="$build/guest" all || built=0
host_check samples-build make -C "$FENCEBUF_ROOT/samples" --no-print-directory \
	KHDR="$kdir/usr/include" OUT="$build/guest" || true
# Packaging, as a user meets it (qemu/install-check.sh); the root that
# `make install` fills goes into the guest for the install suite.
sysroot=$build/guest-sysroot
if [ -z "${FENCEBUF_SKIP_HOST:-}" ]; then
	host_check uapi-doc python3 "$FENCEBUF_ROOT/scripts/uapi-doc.py" "$src/scripts/kernel-doc" --check || true
	host_check syzlang python3 "$FENCEBUF_ROOT/scripts/syzlang-check.py" || true
	for what in install uninstall kernel-check dkms rust-analyzer; do
		host_check "$what" "$FENCEBUF_ROOT/qemu/install-check.sh" "$what" "$kdir" "$sysroot" || true
	done
fi

# run_guest LOGDIR SUITES: boot the guest once for SUITES. When the emulator
# crashed, not the guest (qemu/run-vm.sh), keep its logs and boot once more;
# a second crash fails the run.
run_guest() {
	local dir=$1 list=$2 rc=0
	"$FENCEBUF_ROOT/qemu/run-vm.sh" "$kdir/arch/x86/boot/bzImage" "$build/initramfs.cpio.gz" \
		"$dir" "$list" || rc=$?
	if [ $rc -eq 5 ]; then
		mkdir -p "$dir/qemu-crashed"
		mv "$dir/console.log" "$dir/results.log" "$dir/qemu.log" "$dir/qemu-crashed/"
		say "running the guest once more (the crashed run's logs: $dir/qemu-crashed/)"
		rc=0
		"$FENCEBUF_ROOT/qemu/run-vm.sh" "$kdir/arch/x86/boot/bzImage" "$build/initramfs.cpio.gz" \
			"$dir" "$list" || rc=$?
	fi
	return $rc
}

vm_rc=0
if [ $built -eq 1 ]; then
	install -D -m 0644 "$build/module/fencebuf.ko" "$build/guest/modules/fencebuf.ko"
	install -D -m 0644 "$build/importer/fencebuf_importer.ko" "$build/guest/modules/fencebuf_importer.ko"
	case ",$suites," in
	*,install,*)
		export FENCEBUF_GUEST_SYSROOT=$sysroot
		FENCEBUF_GUEST_UDEV=$("$FENCEBUF_ROOT/qemu/fetch-deb.sh" udev bin/udevadm)
		export FENCEBUF_GUEST_UDEV
		;;
	esac
	"$FENCEBUF_ROOT/qemu/mkinitramfs.sh" "$build/initramfs.cpio.gz" "$build/guest"
	# The suites that toggle the BAR's memory decoding for long boot on their
	# own, with one QEMU thread for both vCPUs. Under Debian 12's QEMU 7.2
	# with multi-threaded TCG, QEMU itself crashed (SIGSEGV) within a minute
	# of the fuzzer in both of two runs, and within 30 s of 60 s
	# exporter-stress tests in both of two (make stress); single-threaded,
	# in none so far. The guest has two vCPUs still, which QEMU runs in turn.
	main_suites=, single_suites=,
	for s in ${suites//,/ }; do
		case $s in
		exporter-stress | fuzz) single_suites+=$s, ;;
		*) main_suites+=$s, ;;
		esac
	done
	main_suites=${main_suites#,} single_suites=${single_suites#,}
	main_suites=${main_suites%,} single_suites=${single_suites%,}
	: >"$logs/results.log"
	: >"$logs/console.log"
	if [ -n "$main_suites" ]; then
		run_guest "$logs" "$main_suites" || vm_rc=$?
	fi
	if [ -n "$single_suites" ]; then
		rc=0
		FENCEBUF_TCG_THREADS=single run_guest "$logs/single" "$single_suites" || rc=$?
		[ $vm_rc -ne 0 ] || vm_rc=$rc
		# One report for both boots.
		cat "$logs/single/results.log" >>"$logs/results.log"
		cat "$logs/single/console.log" >>"$logs/console.log"
	fi
else
	say "the module or the tests did not build: no guest run"
	: >"$logs/results.log"
	: >"$logs/console.log"
fi

# The exporter suite's device-memory check happens on the host, after the
# guest (qemu/ivshmem.py): missing, it failed.
ivshmem_tap=()
case ",$suites," in
*,exporter,*)
	[ -s "$logs/host-ivshmem.tap" ] ||
		echo "not ok 1 ivshmem: the guest never wrote its pattern" >"$logs/host-ivshmem.tap"
	ivshmem_tap=(--host-tap "$logs/host-ivshmem.tap")
	;;
esac

say "guest kernel log: $logs/console.log; test output: $logs/results.log"
exec python3 "$FENCEBUF_ROOT/qemu/report.py" --results "$logs/results.log" \
	--console "$logs/console.log" --suites "$suites" --host-tap "$host_tap" "${ivshmem_tap[@]}" \
	--vm-rc "$vm_rc"
