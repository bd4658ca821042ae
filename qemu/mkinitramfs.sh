#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Assemble the guest initramfs from the project's files.
# Usage: mkinitramfs.sh OUT.cpio.gz STAGING_DIR
# STAGING_DIR holds what goes under /fencebuf in the guest (modules/, tests/,
# upstream/, ...); busybox and /init are added here.
# For the install suite (both optional):
#   FENCEBUF_GUEST_SYSROOT  a root `make install DESTDIR=` filled, laid over /
#   FENCEBUF_GUEST_UDEV     an unpacked udev package (scripts/toolchain/fetch-deb.sh udev):
#                           udevadm/systemd-udevd and the host libraries
#                           they link, at the same paths
. "$(dirname "$0")/../scripts/lib.sh"

out=$1
staging=$2
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/busybox$') ||
	die "no static busybox: install busybox-static"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,run,fencebuf}
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$FENCEBUF_ROOT/qemu/guest-init.sh" "$root/init"
install -m 0755 "$FENCEBUF_ROOT/qemu/guest-suite.sh" "$root/fencebuf/suite.sh"
install -m 0644 "$FENCEBUF_ROOT/selftests/suites" "$root/fencebuf/suites"
cp -a "$staging"/. "$root/fencebuf/"
# nobody and fbusers: the install suite's unprivileged user and test group.
printf '%s\n' 'root:x:0:0:root:/:/bin/sh' 'nobody:x:65534:65534:nobody:/:/bin/false' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'fbusers:x:1500:' 'nogroup:x:65534:' >"$root/etc/group"
if [ -d "${FENCEBUF_GUEST_SYSROOT:-/nonexistent}" ]; then
	cp -a "$FENCEBUF_GUEST_SYSROOT"/. "$root/"
fi
if [ -n "${FENCEBUF_GUEST_UDEV:-}" ]; then
	udevadm=$FENCEBUF_GUEST_UDEV/bin/udevadm
	mkdir -p "$root/lib/systemd"
	cp "$udevadm" "$root/bin/udevadm"
	ln -sf /bin/udevadm "$root/lib/systemd/systemd-udevd"
	libs=$(ldd "$udevadm" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
	if ldd "$udevadm" | grep -q 'not found'; then
		die "udevadm needs libraries the host lacks:" \
			"$(ldd "$udevadm" | grep 'not found' | tr -s ' \t' ' ')"
	fi
	for lib in $libs; do
		install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
fi
(cd "$root" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
