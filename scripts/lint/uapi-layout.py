#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check rust/abstractions/uapi.rs against include/uapi/linux/fencebuf.h, field
by field and constant by constant.

uapi.rs writes the header's structs again as Rust types (the kernel's
bindgen does not see an out-of-tree header). Its size assertions catch
padding, not a swapped, renamed or re-signed field. This compiles a C
program against the header that prints every member's offset, size and
signedness, works out the same for the Rust structs (repr(C), integer
fields and arrays of them or of the other structs), and fails on any
difference: a struct missing on either side, members in another order or
under other names, another offset, size or sign. It does the same for the
header's macros (ioctl numbers, flags, counts): each must be a constant of
the same name in uapi.rs, whose value, worked out here from the Rust
expression (`_IOWR::<T>(MAGIC, NR)` with T's size from the Rust layout,
`1 << N`, `b'C' as u32`, a number or another constant), is the compiler's.

Usage: uapi-layout.py [CC]   (default: gcc)
"""

import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ROOT / "include/uapi/linux/fencebuf.h"
RUST = ROOT / "rust/abstractions/uapi.rs"

RUST_SCALARS = {"u8": (1, False), "i8": (1, True), "u16": (2, False), "i16": (2, True),
                "u32": (4, False), "i32": (4, True), "u64": (8, False), "i64": (8, True)}


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def c_layout(cc):
    """{struct: [(member, offset, size, signed or None)]} and {macro: value}
    as the compiler sees the header."""
    text = HEADER.read_text()
    structs = {}
    for name, body in re.findall(r"^struct (\w+) \{\n(.*?)^\};", text, re.S | re.M):
        members = []
        for line in body.splitlines():
            m = re.match(r"\s*(?:struct \w+|[\w ]+?)\s+(\w+)(\[[^\]]*\])?;", line)
            if m:
                members.append((m.group(1), bool(m.group(2))))
        structs[name] = members
    prog = ["#include <stddef.h>", "#include <stdio.h>", f'#include "{HEADER}"', "int main(void) {"]
    for name, members in structs.items():
        for member, is_array in members:
            sign = "-1" if is_array else f"((__typeof__(((struct {name} *)0)->{member}))-1 < 0)"
            prog.append(f'printf("{name} {member} %zu %zu %d\\n", offsetof(struct {name}, {member}), '
                        f"sizeof(((struct {name} *)0)->{member}), {sign});")
    macros = [m for m in re.findall(r"^#define (\w+)[ \t]", text, re.M) if not m.startswith("_")]
    for macro in macros:
        prog.append(f'printf("#{macro} %llu\\n", (unsigned long long)({macro}));')
    prog += ["return 0;", "}"]
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = pathlib.Path(tmp) / "layout.c", pathlib.Path(tmp) / "layout"
        src.write_text("\n".join(prog) + "\n")
        subprocess.run([cc, "-Wall", "-Werror", "-o", str(exe), str(src)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    layout = {name: [] for name in structs}
    consts = {}
    for line in out.splitlines():
        if line.startswith("#"):
            macro, value = line[1:].split()
            consts[macro] = int(value)
            continue
        name, member, off, size, sign = line.split()
        layout[name].append((member, int(off), int(size), None if sign == "-1" else sign == "1"))
    return layout, consts


IOC_DIR = {"_IO": 0, "_IOW": 1, "_IOR": 2, "_IOWR": 3}  # asm-generic/ioctl.h


def rust_layout():
    """The same for uapi.rs's repr(C) structs, by the rules of repr(C), and
    its constants' values."""
    text = RUST.read_text()
    exprs = dict(re.findall(r"^pub\(crate\) const (\w+): \w+ =\s*(.*?);", text, re.M | re.S))
    consts = {}

    def value(name):
        if name not in consts:
            e = " ".join(exprs[name].split())
            if m := re.fullmatch(r"b'(.)' as u32", e):
                consts[name] = ord(m.group(1))
            elif m := re.fullmatch(r"(_IO\w*)::<(\w+)>\((\w+), (\w+)\)", e):
                size = RUST_SCALARS[m.group(2)][0] if m.group(2) in RUST_SCALARS \
                    else struct_layout(m.group(2))[1]
                consts[name] = (IOC_DIR[m.group(1)] << 30 | size << 16 |
                                number(m.group(3)) << 8 | number(m.group(4)))
            elif m := re.fullmatch(r"(\w+) << (\w+)", e):
                consts[name] = number(m.group(1)) << number(m.group(2))
            else:
                consts[name] = number(e)
        return consts[name]

    def number(token):
        if token in exprs:
            return value(token)
        try:
            return int(token, 0)
        except ValueError:
            raise SystemExit(f"uapi-layout: {RUST}: cannot work out the value of '{token}'") from None

    structs = {}
    for name, body in re.findall(r"#\[repr\(C\)\][^{]*?pub\(crate\) struct (\w+) \{(.*?)\n\}", text, re.S):
        structs[name] = re.findall(r"pub\(crate\) (\w+): ([^,]+),", body)
    done = {}

    def type_layout(ty):  # (size, align, signed or None)
        ty = ty.strip()
        m = re.fullmatch(r"\[(\w+); (\w+)\]", ty)
        if m:
            size, align, _ = type_layout(m.group(1))
            return size * number(m.group(2)), align, None
        if ty in RUST_SCALARS:
            size, signed = RUST_SCALARS[ty]
            return size, size, signed
        if ty in structs:
            return struct_layout(ty)[1:]
        raise SystemExit(f"uapi-layout: {RUST}: type {ty} is not an integer, array or uAPI struct")

    def struct_layout(name):
        if name not in done:
            off, align, members = 0, 1, []
            for member, ty in structs[name]:
                size, a, signed = type_layout(ty)
                off = (off + a - 1) // a * a
                members.append((member, off, size, signed))
                off += size
                align = max(align, a)
            done[name] = (members, (off + align - 1) // align * align, align, None)
        return done[name]

    layouts = {snake(name): struct_layout(name)[0] for name in structs}
    return layouts, {name: value(name) for name in exprs}


def main(argv):
    (c, c_consts), (rust, rust_consts) = c_layout(argv[1] if len(argv) > 1 else "gcc"), rust_layout()
    problems = []

    def differing(what, header, ours):
        """The names on both sides whose entries differ; a name on one side
        only is a problem of its own."""
        for name in sorted(set(header) | set(ours)):
            if name not in ours:
                problems.append(f"{what}{name}: in the header, not in uapi.rs")
            elif name not in header:
                problems.append(f"{what}{name}: in uapi.rs, not in the header")
            elif header[name] != ours[name]:
                yield name

    for name in differing("", c_consts, rust_consts):
        problems.append(f"{name}: {c_consts[name]:#x} in the header, {rust_consts[name]:#x} in uapi.rs")
    for name in differing("struct ", c, rust):
        for i in range(max(len(c[name]), len(rust[name]))):
            cm = c[name][i] if i < len(c[name]) else None
            rm = rust[name][i] if i < len(rust[name]) else None
            if cm != rm:
                problems.append(f"struct {name}, member {i}: header (name, offset, size, "
                                f"signed) {cm}, uapi.rs {rm}")
    for p in problems:
        print("uapi-layout: " + p, file=sys.stderr)
    if problems:
        return 1
    print(f"uapi-layout: {len(c)} structs, {sum(len(m) for m in c.values())} members, "
          f"{len(c_consts)} constants: uapi.rs matches the header")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
