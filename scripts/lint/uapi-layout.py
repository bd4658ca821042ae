#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check rust/abstractions/uapi.rs against include/uapi/linux/fencebuf.h, field
by field.

uapi.rs writes the header's structs again as Rust types (the kernel's
bindgen does not see an out-of-tree header). Its size assertions catch
padding, not a swapped, renamed or re-signed field. This compiles a C
program against the header that prints every member's offset, size and
signedness, works out the same for the Rust structs (repr(C), integer
fields and arrays of them or of the other structs), and fails on any
difference: a struct missing on either side, members in another order or
under other names, another offset, size or sign.

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
    """{struct: [(member, offset, size, signed or None)]} as the compiler sees the header."""
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
    prog += ["return 0;", "}"]
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = pathlib.Path(tmp) / "layout.c", pathlib.Path(tmp) / "layout"
        src.write_text("\n".join(prog) + "\n")
        subprocess.run([cc, "-Wall", "-Werror", "-o", str(exe), str(src)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    layout = {name: [] for name in structs}
    for line in out.splitlines():
        name, member, off, size, sign = line.split()
        layout[name].append((member, int(off), int(size), None if sign == "-1" else sign == "1"))
    return layout


def rust_layout():
    """The same for uapi.rs's repr(C) structs, by the rules of repr(C)."""
    text = RUST.read_text()
    structs = {}
    for name, body in re.findall(r"#\[repr\(C\)\][^{]*?pub\(crate\) struct (\w+) \{(.*?)\n\}", text, re.S):
        structs[name] = re.findall(r"pub\(crate\) (\w+): ([^,]+),", body)
    done = {}

    def type_layout(ty):  # (size, align, signed or None)
        ty = ty.strip()
        m = re.fullmatch(r"\[(\w+); (\d+)\]", ty)
        if m:
            size, align, _ = type_layout(m.group(1))
            return size * int(m.group(2)), align, None
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

    return {snake(name): struct_layout(name)[0] for name in structs}


def main(argv):
    c, rust = c_layout(argv[1] if len(argv) > 1 else "gcc"), rust_layout()
    problems = []
    for name in sorted(set(c) | set(rust)):
        if name not in rust:
            problems.append(f"struct {name}: in the header, not in uapi.rs")
        elif name not in c:
            problems.append(f"struct {name}: in uapi.rs, not in the header")
        elif c[name] != rust[name]:
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
    print(f"uapi-layout: {len(c)} structs, {sum(len(m) for m in c.values())} members: "
          "uapi.rs matches the header")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
