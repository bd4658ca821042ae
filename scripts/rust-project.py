#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Complete the rust-project.json that the kernel's `make M=... rust-analyzer`
wrote for this tree: rust-analyzer then resolves `kernel` in fencebuf and in
the sample importer.

The kernel's generator takes a .rs file for a crate root when a Makefile or
Kbuild next to it names `<file>.o`, as a substring: so it finds the sample
importer (and also takes importer.rs, one of its modules, for a crate), it
finds copies of the tree under build/ (the mutants'), and it misses
fencebuf, whose Kbuild is one directory above rust/fencebuf.rs. This keeps
the real crate roots and adds fencebuf's, with the importer's dependencies
and cfgs (both are modules of the same kernel), and the release cfgs that
Kbuild passes them (scripts/kbuild/release-cfg.mk) for the kernel RELEASE.

Usage: rust-project.py ROOT RELEASE   (rewrites ROOT/rust-project.json in place)
"""
import json
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1]).resolve()
kernel = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", sys.argv[2]).groups())
mk = (root / "scripts/kbuild/release-cfg.mk").read_text()
releases = re.search(r"^fencebuf-releases := (.*)$", mk, re.M).group(1).split()
release_cfgs = [
    f'fencebuf_kernel_at_least="{r}"'
    for r in releases
    if tuple(int(x) for x in r.split(".")) <= kernel
]
path = root / "rust-project.json"
project = json.loads(path.read_text())
crates = project["crates"]

# Our crate roots, relative to ROOT: each names its own module in Kbuild.
ROOTS = {
    "rust/fencebuf.rs": "fencebuf",
    "samples/importer/fencebuf_importer.rs": "fencebuf_importer",
}


def ours(crate):
    p = pathlib.Path(crate["root_module"])
    p = p if p.is_absolute() else root / p
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return None  # a kernel crate


template = next((c for c in crates if ours(c) == "samples/importer/fencebuf_importer.rs"), None)
if template is None:
    sys.exit("rust-project.py: the kernel's generator found no sample importer crate")

# Crate indices are positions: the kernel's crates come first, so dropping
# what follows them moves no index that a dependency refers to.
kept = [c for c in crates if ours(c) is None]
if crates[: len(kept)] != kept:
    sys.exit("rust-project.py: the kernel's crates do not come first; the generator changed")
for rel, name in ROOTS.items():
    crate = dict(template)
    crate["display_name"] = name
    crate["root_module"] = str(root / rel)
    crate["is_workspace_member"] = True
    crate["cfg"] = list(template.get("cfg", [])) + release_cfgs
    kept.append(crate)
project["crates"] = kept
path.write_text(json.dumps(project, indent=4, sort_keys=True) + "\n")
print(f"rust-project.json: {len(kept) - len(ROOTS)} kernel crates, and {', '.join(ROOTS.values())}")
