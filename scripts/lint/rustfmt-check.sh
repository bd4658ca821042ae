#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check that every .rs file of the project is formatted as the kernel's
# .rustfmt.toml wants it (the style of the pinned tree). Prints the diff.
. "$(dirname "$0")/../lib.sh"

src=$("$FENCEBUF_ROOT/scripts/kernel/fetch-kernel.sh")
cd "$FENCEBUF_ROOT"
# rustfmt follows `mod` declarations, so it is given the crate roots: the
# .rs files behind the objects the Kbuild files name.
mapfile -t files < <(
	for kb in $(git ls-files --cached --others --exclude-standard 'Kbuild' '*/Kbuild'); do
		dir=$(dirname "$kb")
		grep -o '[A-Za-z0-9_/.-]*\.o' "$kb" | sed "s|^|$dir/|; s|\.o\$|.rs|; s|^\./||" |
			while read -r f; do [ ! -f "$f" ] || echo "$f"; done
	done | sort -u
)
[ "${#files[@]}" -gt 0 ] || die "no Rust crate roots found in the Kbuild files"
"$RUSTFMT" --check --edition 2021 --config-path "$src/.rustfmt.toml" "${files[@]}" ||
	die "rustfmt: the files above are not formatted (fix: $RUSTFMT --edition 2021" \
		"--config-path $src/.rustfmt.toml FILE)"
say "rustfmt: formatted: ${files[*]} and the modules they declare"
