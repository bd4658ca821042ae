#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: set everything up, run the lint gates on the host and every
# suite in the guest, and print a summary ending in "N passed, N failed".
#   FENCEBUF_SUITES      the guest suites to run on the debug kernel (default: all)
#   FENCEBUF_STOCK_SUITES  those to run on Debian's stock kernel (default: all
#                        that need no debug kernel)
#   FENCEBUF_STOCK_KERNELS  the stock kernels' series (default: all of
#                        STOCK_KERNELS in scripts/toolchain/pins.env)
#   FENCEBUF_STOCK=0     nothing for the stock kernels
#   FENCEBUF_STOCK_DKMS  a Debian root where the fencebuf-dkms package is
#                        installed (make deb-check): the stock kernels boot
#                        DKMS's module and rule, not make install's; results
#                        are dkms:NAME and dkmsX.Y:NAME
#   FENCEBUF_SKIP_LINT   set: no rustfmt and clippy gates
#   FENCEBUF_SKIP_HOST   set: only the builds among the host checks
#   FENCEBUF_COUNT_SMOKE=0  no short counted run (count-smoke)
#   FENCEBUF_LOGS        where the logs go (default build/logs/check)
. "$(dirname "$0")/../lib.sh"

build=$FENCEBUF_ROOT/build
logs=${FENCEBUF_LOGS:-$build/logs/check}
# The default lists come from the suites' table (selftests/suites). On the
# stock kernel, the suites that need no debug kernel (faultinject and fuzz
# need fail-nth and kmemleak, which Debian's kernel does not have).
suites=${FENCEBUF_SUITES-$(suite_list debug),$(suite_list q35)}
suites=${suites#,}
suites=${suites%,}
suites_debug=$suites
# The debug kernel boots twice: the q35 suites (the table's DEBUG column) on
# a PCIe machine of their own, the others on the default one.
q35_all=,$(suite_list q35),
pc_suites= q35_suites=
for s in ${suites//,/ }; do
	case $q35_all in
	*,"$s",*) q35_suites+=${q35_suites:+,}$s ;;
	*) pc_suites+=${pc_suites:+,}$s ;;
	esac
done
stock_suites=${FENCEBUF_STOCK_SUITES-$(suite_list stock)}
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
	"$FENCEBUF_ROOT/scripts/toolchain/setup-toolchain.sh"
kdir=$("$FENCEBUF_ROOT/scripts/kernel/build-kernel.sh" "$FENCEBUF_ROOT/scripts/kernel/kernel-debug.config")
src=$(kernel_src_dir)

# Each host check is a make target (make lint runs the same ones).
mk=(make -C "$FENCEBUF_ROOT" --no-print-directory)
if [ -z "${FENCEBUF_SKIP_LINT:-}${FENCEBUF_SKIP_HOST:-}" ]; then
	host_check rustfmt "${mk[@]}" rustfmt-check || true
	host_check import-graph "${mk[@]}" deps || true
	# Not in make mutants's runs (which skip the lints): a mutated tree
	# is one the mutants no longer apply to.
	host_check mutants "${mk[@]}" mutants-check || true
	# Likewise for the reasons make coverage gives for lines not run.
	host_check unreached "${mk[@]}" unreached-check || true
	host_check clippy "${mk[@]}" KDIR="$kdir" PINNED=1 clippy || true
fi
built=0
host_check module-build make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kdir" PINNED=1 modules && built=1
host_check selftests-build make -C "$FENCEBUF_ROOT/selftests" --no-print-directory \
	KSRC="$src" KHDR="$kdir/usr/include" OUT="$build/guest" all || built=0
host_check samples-build make -C "$FENCEBUF_ROOT/samples" --no-print-directory \
	KHDR="$kdir/usr/include" OUT="$build/guest" || true
if [ -z "${FENCEBUF_SKIP_LINT:-}${FENCEBUF_SKIP_HOST:-}" ]; then
	host_check rustdoc "${mk[@]}" KDIR="$kdir" PINNED=1 rustdoc || true
fi
# Packaging, as a user meets it (scripts/install-check.sh); the root that
# `make install` fills goes into the guest for the install suite.
sysroot=$build/guest-sysroot
if [ -z "${FENCEBUF_SKIP_HOST:-}" ]; then
	host_check uapi-doc "${mk[@]}" uapi-doc-check || true
	host_check uapi-layout "${mk[@]}" uapi-layout-check || true
	host_check syzlang "${mk[@]}" syzlang-check || true
	host_check ffi "${mk[@]}" ffi-check || true
	for what in install uninstall kernel-check dkms rust-analyzer; do
		host_check "$what" "$FENCEBUF_ROOT/scripts/install-check.sh" "$what" "$kdir" "$sysroot" || true
	done
fi

# run_guest LOGDIR SUITES [KERNEL INITRD]: boot the guest (by default the
# debug kernel) once for SUITES. When the emulator crashed, not the guest
# (qemu/run-vm.sh), keep its logs and boot once more; a second crash fails
# the run.
run_guest() {
	local dir=$1 list=$2 rc=0
	local kernel=${3:-$kdir/arch/x86/boot/bzImage} initrd=${4:-$build/initramfs.cpio.gz}
	"$FENCEBUF_ROOT/qemu/run-vm.sh" "$kernel" "$initrd" "$dir" "$list" || rc=$?
	if [ $rc -eq 5 ]; then
		mkdir -p "$dir/qemu-crashed"
		mv "$dir/console.log" "$dir/results.log" "$dir/qemu.log" "$dir/qemu-crashed/"
		say "running the guest once more (the crashed run's logs: $dir/qemu-crashed/)"
		rc=0
		"$FENCEBUF_ROOT/qemu/run-vm.sh" "$kernel" "$initrd" "$dir" "$list" || rc=$?
	fi
	return $rc
}

vm_rc=0
if [ $built -eq 1 ]; then
	install -D -m 0644 "$build/module/fencebuf.ko" "$build/guest/modules/fencebuf.ko"
	install -D -m 0644 "$build/importer/fencebuf_importer.ko" "$build/guest/modules/fencebuf_importer.ko"
	# The guided fuzzer's corpus from earlier runs (scripts/test/fuzz.sh keeps it).
	if [ -d "$build/fuzz/corpus" ]; then
		cp -r "$build/fuzz/corpus" "$build/guest/fuzz-corpus"
	fi
	case ",$suites," in
	*,install,*)
		export FENCEBUF_GUEST_SYSROOT=$sysroot
		FENCEBUF_GUEST_UDEV=$("$FENCEBUF_ROOT/scripts/toolchain/fetch-deb.sh" udev bin/udevadm)
		export FENCEBUF_GUEST_UDEV
		;;
	esac
	"$FENCEBUF_ROOT/qemu/mkinitramfs.sh" "$build/initramfs.cpio.gz" "$build/guest"
	: >"$logs/results.log"
	: >"$logs/console.log"
	if [ -n "$pc_suites" ]; then
		run_guest "$logs" "$pc_suites" || vm_rc=$?
	fi
	if [ -n "$q35_suites" ]; then
		rc=0
		FENCEBUF_VM_MACHINE=q35 run_guest "$logs/q35" "$q35_suites" || rc=$?
		[ $vm_rc -ne 0 ] || vm_rc=$rc
		cat "$logs/q35/results.log" >>"$logs/results.log"
		cat "$logs/q35/console.log" >>"$logs/console.log"
	fi
	# make bench's counted run, short: the counting plugin (built for the
	# pinned QEMU, whose API it declares itself: scripts/test/counted-run.sh) must
	# load, count every interval, and not crash QEMU. Debug kernel, so its
	# counts are no benchmark; its kernel log is checked with the others.
	if [ -z "${FENCEBUF_SKIP_HOST:-}" ] && [ -n "$suites_debug" ] &&
		[ "${FENCEBUF_COUNT_SMOKE:-1}" != 0 ]; then
		host_check count-smoke sh -c '"$1" "$2" "$3" "$4" "$5" 20 &&
			python3 "$6" --smoke "$5/tb-count.txt" "$5/results.log"' _ \
			"$FENCEBUF_ROOT/scripts/test/counted-run.sh" "$kdir/arch/x86/boot/bzImage" \
			"$build/initramfs.cpio.gz" "$build/guest" "$logs/count-smoke" \
			"$FENCEBUF_ROOT/scripts/report/count-report.py" || true
		cat "$logs/count-smoke/console.log" >>"$logs/console.log" 2>/dev/null || true
	fi
else
	say "the module or the tests did not build: no guest run"
	: >"$logs/results.log"
	: >"$logs/console.log"
fi

# The stock kernels: Debian's own signed kernels (STOCK_KERNELS in
# scripts/toolchain/pins.env), as fencebuf's users run them
# (Documentation/fencebuf/kernels.rst). For each, the module is built as a
# user on such a machine builds it, with the kernel's own toolchain in the
# trixie build root (scripts/kernel/stock-kernel.sh): the Makefile rebuilds
# the Rust metadata the headers lack (scripts/rust-metadata.sh), and `make
# install` fills the guest's root. Each boots its own vmlinuz with the same
# suites; the newest's results are reported as stock:NAME, the others' as
# stockX.Y:NAME. FENCEBUF_STOCK_KERNELS=7.3,7.2 picks some (default all);
# FENCEBUF_STOCK=0 skips them.
# stock_kernel SERIES: build, check and boot one stock kernel.
stock_kernel() {
	local series=$1 name release stock_logs stock_built=0 stock_root kstock sysroot_stock staging udev rc
	local in_root stock_make bname ko
	bname=$(stock_name "$series")
	name=$bname
	[ -z "${FENCEBUF_STOCK_DKMS:-}" ] || name=dkms${bname#stock}
	release=$(stock_var "$series" RELEASE)
	stock_logs=$logs/$name
	mkdir -p "$stock_logs"
	if stock_root=$("$FENCEBUF_ROOT/scripts/kernel/stock-kernel.sh" "$series"); then
		in_root=("$FENCEBUF_ROOT/scripts/toolchain/in-root.sh" "$stock_root")
		kstock=/usr/src/linux-headers-$release
		stock_make=("${in_root[@]}" make -C "$FENCEBUF_ROOT" --no-print-directory KDIR="$kstock")
		host_check "$name-module-build" "${stock_make[@]}" \
			MODULE_OUT="$build/$bname/module" IMPORTER_OUT="$build/$bname/importer" modules &&
			stock_built=1
		# No warnings against the stock config either (kbuild's, rustc's, gcc's).
		host_check "$name-no-warnings" sh -c '! grep -E "^(warning|error)(\[|:)|: warning:" "$1"' _ \
			"$logs/host-$name-module-build.log" || true
		if [ -z "${FENCEBUF_SKIP_LINT:-}${FENCEBUF_SKIP_HOST:-}" ]; then
			host_check "$name-clippy" "${stock_make[@]}" CLIPPY_OUT="$build/$bname/clippy" clippy || true
		fi
		sysroot_stock=$build/$name-sysroot
		rm -rf "$sysroot_stock"
		mkdir -p "$sysroot_stock/lib/modules/$release"
		# Debian's lists of the kernel's modules, as a machine running it has.
		cp "$stock_root/usr/lib/modules/$release"/modules.{order,builtin,builtin.modinfo} \
			"$sysroot_stock/lib/modules/$release/"
		ko=$build/$bname/module/fencebuf.ko
		if [ -n "${FENCEBUF_STOCK_DKMS:-}" ]; then
			# What the package and DKMS installed. That root has the
			# kernel's headers, not its image, so DKMS skipped depmod
			# (no modules.dep); on a machine running the kernel it runs
			# `depmod -a`, as here.
			ko=$sysroot_stock/lib/modules/$release/updates/dkms/fencebuf.ko
			host_check "$name-module" sh -c 'dkms=$1 sysroot=$2 release=$3
				shift 3
				cp -a "$dkms/usr/lib/modules/$release/updates" "$sysroot/lib/modules/$release/" &&
				test -f "$sysroot/lib/modules/$release/updates/dkms/fencebuf.ko" &&
				install -D -m 0644 "$dkms/usr/lib/udev/rules.d/70-fencebuf.rules" \
					"$sysroot/usr/lib/udev/rules.d/70-fencebuf.rules" &&
				"$@" depmod -b "$sysroot" "$release"' _ \
				"$FENCEBUF_STOCK_DKMS" "$sysroot_stock" "$release" "${in_root[@]}" ||
				stock_built=0
		else
			host_check "$name-install" "${stock_make[@]}" DESTDIR="$sysroot_stock" \
				MODULE_OUT="$build/$bname/module" install || stock_built=0
		fi
		if [ -z "${FENCEBUF_SKIP_HOST:-}" ]; then
			host_check "$name-rust-metadata" "$FENCEBUF_ROOT/scripts/install-check.sh" rust-metadata \
				"$stock_root$kstock" "$stock_root" "$kdir" || true
			host_check "$name-dkms" "$FENCEBUF_ROOT/scripts/install-check.sh" stock-dkms \
				"$stock_root$kstock" "$stock_root" || true
		fi
	else
		n=$((n + 1))
		echo "not ok $n $name-kernel: stock kernel $series or its build root could not be set up" >>"$host_tap"
	fi
	: >"$stock_logs/results.log"
	: >"$stock_logs/console.log"
	if [ $stock_built -eq 1 ] && [ $built -eq 1 ]; then
		staging=$build/$name-guest
		rm -rf "$staging"
		cp -a "$build/guest" "$staging"
		install -m 0644 "$ko" "$staging/modules/fencebuf.ko"
		install -m 0644 "$build/$bname/importer/fencebuf_importer.ko" "$staging/modules/fencebuf_importer.ko"
		udev=
		case ",$stock_suites," in
		*,install,*) udev=$("$FENCEBUF_ROOT/scripts/toolchain/fetch-deb.sh" udev bin/udevadm) ;;
		esac
		FENCEBUF_GUEST_SYSROOT=$sysroot_stock FENCEBUF_GUEST_UDEV=$udev \
			"$FENCEBUF_ROOT/qemu/mkinitramfs.sh" "$build/$name-initramfs.cpio.gz" "$staging"
		# One boot, multi-threaded like the debug kernel's.
		rc=0
		FENCEBUF_EXPECT_DEBUGFS=fencebuf FENCEBUF_GUEST_KERNEL=stock \
			run_guest "$stock_logs/boot" "$stock_suites" \
			"$stock_root/usr/lib/modules/$release/vmlinuz" "$build/$name-initramfs.cpio.gz" ||
			rc=$?
		[ $vm_rc -ne 0 ] || vm_rc=$rc
		cat "$stock_logs/boot/results.log" >>"$stock_logs/results.log"
		cat "$stock_logs/boot/console.log" >>"$stock_logs/console.log"
	else
		say "the module did not build for stock kernel $series: no $name guest run"
	fi
	# One report: this boot's suites as NAME:SUITE.
	sed -e "s/^\(@@fencebuf suite-[a-z]* \)/\1$name:/" "$stock_logs/results.log" >>"$logs/results.log"
	cat "$stock_logs/console.log" >>"$logs/console.log"
	suites+=,$(echo "$stock_suites" | sed "s/\([^,]*\)/$name:\1/g")
}
if [ "${FENCEBUF_STOCK:-1}" != 0 ] && [ -n "$stock_suites" ]; then
	stock_kernels=${FENCEBUF_STOCK_KERNELS:-$STOCK_KERNELS}
	for series in ${stock_kernels//,/ }; do
		stock_kernel "$series"
	done
fi

# Only the debug kernel has kmemleak: without its suites, no final scan.
kmemleak=()
[ -n "$suites_debug" ] || kmemleak=(--no-kmemleak)

say "guest kernel log: $logs/console.log; test output: $logs/results.log"
exec python3 "$FENCEBUF_ROOT/scripts/report/report.py" --results "$logs/results.log" \
	--console "$logs/console.log" --suites "$suites" --host-tap "$host_tap" \
	"${kmemleak[@]}" --vm-rc "$vm_rc"
