#!/usr/bin/env bash
# Assemble the guest initramfs from the project's files.
# Usage: mkinitramfs.sh OUT.cpio.gz STAGING_DIR
# STAGING_DIR holds what goes under /fencebuf in the guest (modules/, tests/,
# upstream/, ...); busybox and /init are added here.
. "$(dirname "$0")/lib.sh"

out=$1
staging=$2
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/busybox$') ||
	die "no static busybox: install busybox-static"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,fencebuf}
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$FENCEBUF_ROOT/qemu/guest-init.sh" "$root/init"
install -m 0755 "$FENCEBUF_ROOT/qemu/guest-suite.sh" "$root/fencebuf/suite.sh"
cp -a "$staging"/. "$root/fencebuf/"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
(cd "$root" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
