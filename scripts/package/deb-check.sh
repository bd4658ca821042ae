#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make deb-check`: install the fencebuf-dkms package as a user does, on a
# copy of a Debian 13 root that has the newest stock kernel's headers
# (trixie-root.sh user), and check what happens: apt pulls in what the DKMS
# build needs; DKMS rebuilds the headers' Rust metadata and builds and
# installs the module for that kernel; installing the other stock kernel's
# headers builds it for that one too; each kernel's Debian vmlinuz boots with
# the modules tree and udev rule the package left, and the stock suites pass
# on the module DKMS built (scripts/test/check.sh, FENCEBUF_STOCK_DKMS); `apt purge`
# leaves no file behind.
# Prints TAP and "N passed, N failed".
. "$(dirname "$0")/../lib.sh"

"$FENCEBUF_ROOT/scripts/package/deb.sh"
deb=$(ls "$FENCEBUF_ROOT"/build/deb/fencebuf-dkms_*_all.deb)
base=$("$FENCEBUF_ROOT/scripts/toolchain/trixie-root.sh" user)
work=$FENCEBUF_CACHE/deb-check
root=$work/root
logs=$FENCEBUF_ROOT/build/deb/check
rm -rf "$work" "$logs"
mkdir -p "$work" "$logs"
with_progress "copying the Debian root" cp -a "$base" "$root"
cp "$deb" "$root/tmp/"
in_root=("$FENCEBUF_ROOT/scripts/toolchain/in-root.sh" "$root" env DEBIAN_FRONTEND=noninteractive)
n=0 failed=0
ok() {
	n=$((n + 1))
	echo "ok $n $*"
}
bad() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n $*"
}
# step NAME LOG CMD...: run CMD in the root, its output in LOG.
step() {
	local name=$1 log=$logs/$2
	shift 2
	if logged "$name" "$log" "${in_root[@]}" "$@"; then ok "$name"; else bad "$name (log: $log)"; fi
}
# Every file of the root, apt's and dpkg's own state aside.
files() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o \
		-path ./var/lib/apt -o -path ./var/cache/apt -o -path ./var/lib/dpkg -o \
		-path ./var/log -o -path ./var/cache/debconf \) -prune -o -print) |
		sort
}
modules() { ls "$root/usr/lib/modules/$1/updates/dkms/" 2>/dev/null | grep '^fencebuf\.ko' || true; }

release73=$(stock_var 7.3 RELEASE) release72=$(stock_var 7.2 RELEASE)
step "apt-get update" update.log apt-get -q update
# What the package depends on first, as apt installs it with the package:
# then what purging must take away is the package's own.
step "apt-get satisfy: the package's dependencies" deps.log \
	apt-get satisfy -y -q "$(dpkg-deb -f "$deb" Depends)"
files >"$logs/files-before"
step "apt install ./$(basename "$deb")" install.log apt-get install -y -q "/tmp/$(basename "$deb")"
if [ -n "$(modules "$release73")" ]; then
	ok "DKMS installed $(modules "$release73") for $release73"
else
	bad "no fencebuf.ko for $release73 (log: $logs/install.log)"
fi
# Debian's DKMS signs what it builds with its MOK key (install.rst: how to
# enrol it for Secure Boot).
ko=$root/usr/lib/modules/$release73/updates/dkms/$(modules "$release73")
signer=$(modinfo -F signer "$ko" 2>/dev/null || true)
if [ -n "$signer" ]; then ok "the module is signed (by '$signer')"; else bad "the module is not signed"; fi
if [ -f "$root/usr/lib/udev/rules.d/70-fencebuf.rules" ]; then
	ok "the udev rule is installed"
else
	bad "no /usr/lib/udev/rules.d/70-fencebuf.rules"
fi
if find "$root/var/lib/dkms/fencebuf" -name make.log \
	-exec grep -h "Rust metadata for $release73: .*/var/cache/fencebuf/" {} + | grep -q .; then
	ok "the Rust metadata was rebuilt into /var/cache/fencebuf"
else
	bad "no Rust metadata in /var/cache/fencebuf for $release73"
fi
pin72=$(stock_var 7.2 DEBS | awk -v p="linux-headers-$release72=" 'index($1, p) == 1 { print $1 }')
step "apt install $pin72" headers72.log apt-get install -y -q "$pin72" "linux-source-7.2"
if [ -n "$(modules "$release72")" ]; then
	ok "DKMS built $(modules "$release72") for $release72 when its headers came"
else
	bad "no fencebuf.ko for $release72 (log: $logs/headers72.log)"
fi
# The stock suites, as `make check` runs them, on what DKMS installed.
boot_logs=$logs/boot
if logged "booting both stock kernels with DKMS's modules (log: $boot_logs)" "$logs/boot.log" \
	env FENCEBUF_STOCK_DKMS="$root" FENCEBUF_SUITES= FENCEBUF_SKIP_LINT=1 FENCEBUF_SKIP_HOST=1 \
	FENCEBUF_LOGS="$boot_logs" "$FENCEBUF_ROOT/scripts/test/check.sh"; then
	ok "the stock suites pass on DKMS's modules: $(tail -n 1 "$logs/boot.log")"
else
	bad "the stock suites on DKMS's modules: $(tail -n 1 "$logs/boot.log") (log: $logs/boot.log)"
fi
step "apt purge fencebuf-dkms" purge.log apt-get purge -y -q fencebuf-dkms
step "apt purge $pin72" purge72.log apt-get purge -y -q "linux-headers-$release72" "linux-source-7.2"
step "apt autoremove --purge" autoremove.log apt-get autoremove --purge -y -q
files >"$logs/files-after"
# DKMS makes its signing key (MOK) at its first build; it is DKMS's, and
# stays for the next module, as Secure Boot needs it enrolled once.
left=$(comm -13 "$logs/files-before" "$logs/files-after" |
	grep -v -x -e ./var/lib/dkms/mok.key -e ./var/lib/dkms/mok.pub || true)
if [ -z "$left" ]; then
	ok "purging left no file behind"
else
	bad "purging left $(echo "$left" | wc -l) files behind: $(echo "$left" | head -n 5 | paste -sd' ' -)"
fi
echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
