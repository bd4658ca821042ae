#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check syzkaller/fencebuf.txt against include/uapi/linux/fencebuf.h.

syzkaller's own compiler (syz-sysgen) cannot be built on these machines (it
is Go, and not packaged by Debian), so this checks what it can without it:

- every ioctl the header defines is described (`ioctl$NAME(`), with the
  header's argument struct when it has one;
- every struct of the header is described with the same fields in the same
  order;
- every flag the header defines is in a syzlang flags list;
- the file is well formed at the level a line reader can see: balanced
  brackets on each line, struct bodies closed, resources declared before use.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = (ROOT / "include/uapi/linux/fencebuf.h").read_text()
SYZ = (ROOT / "syzkaller/fencebuf.txt").read_text()

fails = []

joined = re.sub(r"\\\n\s*", " ", HEADER)
ioctls = dict(re.findall(r"^#define (\w+)\s+_IO\w*\([^,]+,\s*[^,]+(?:,\s*([^)]+))?\)", joined, re.M))
structs = {
    name: re.findall(r"^\s*[\w ]+?\s+\**(\w+)(?:\[[^\]]*\])?;", body, re.M)
    for name, body in re.findall(r"^struct (\w+) \{\n(.*?)^\};", HEADER, re.M | re.S)
}
flags = re.findall(r"^#define (FENCEBUF_(?:REGION|INFO|EXPORT)_[A-Z0-9_]+)\s", HEADER, re.M)

syz_structs = {
    name: [ln.split()[0] for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for name, body in re.findall(r"^(\w+) \{\n(.*?)^\}", SYZ, re.M | re.S)
}
for name, arg in ioctls.items():
    m = re.search(rf"^ioctl\${name}\(.*cmd const\[{name}\], arg ptr\[\w+, ([^\]]+)\]", SYZ, re.M)
    if not m:
        fails.append(f"ioctl {name} is not described")
        continue
    arg = (arg or "").strip()
    if arg.startswith("struct "):
        if m.group(1).strip() != arg.split()[1]:
            fails.append(f"ioctl {name}: argument {m.group(1)}, the header says {arg}")
for name, fields in structs.items():
    if name not in syz_structs:
        fails.append(f"struct {name} is not described")
    elif syz_structs[name] != fields:
        fails.append(f"struct {name}: fields {syz_structs[name]}, the header has {fields}")
listed = set(re.findall(r"\b(FENCEBUF_\w+)\b", " ".join(re.findall(r"^\w+ = (.*)$", SYZ, re.M))))
for f in flags:
    if f not in listed:
        fails.append(f"flag {f} is in no flags list")

declared = set(re.findall(r"^resource (\w+)\[", SYZ, re.M))
for n, line in enumerate(SYZ.splitlines(), 1):
    code = line.split("#", 1)[0]
    for a, b in ("()", "[]"):
        if code.count(a) != code.count(b):
            fails.append(f"line {n}: unbalanced {a}{b}")
    for r in re.findall(r"\b(fd_fencebuf_\w+)\b", code):
        if r not in declared:
            fails.append(f"line {n}: resource {r} is not declared")
if SYZ.count(" {\n") != len(re.findall(r"^\}$", SYZ, re.M)):
    fails.append("a struct body is not closed")

for f in fails:
    print(f"FAIL: {f}")
print(
    f"syzlang-check: {len(ioctls)} ioctls, {len(structs)} structs, {len(flags)} flags of the header "
    f"against syzkaller/fencebuf.txt: {'ok' if not fails else f'{len(fails)} problem(s)'}"
)
sys.exit(1 if fails else 0)
