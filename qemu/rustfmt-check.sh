#!/usr/bin/env bash
# Check that every .rs file of the project is formatted as the kernel's
# .rustfmt.toml wants it (the style of the pinned tree). Prints the diff.
. "$(dirname "$0")/lib.sh"

src=$("$FENCEBUF_ROOT/qemu/fetch-kernel.sh")
mapfile -t files < <(cd "$FENCEBUF_ROOT" && git ls-files --cached --others --exclude-standard '*.rs')
[ "${#files[@]}" -gt 0 ] || die "no .rs files found"
cd "$FENCEBUF_ROOT"
"$RUSTFMT" --check --edition 2021 --config-path "$src/.rustfmt.toml" "${files[@]}" ||
	die "rustfmt: the files above are not formatted (fix: $RUSTFMT --edition 2021 --config-path $src/.rustfmt.toml FILE)"
say "rustfmt: ${#files[@]} files formatted"
