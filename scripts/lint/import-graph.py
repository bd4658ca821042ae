#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the import graph of fencebuf's Rust modules and fail on a cycle.

Usage: import-graph.py [ROOT]   (ROOT: the rust/ directory, default ./rust)

Each file is a module (rust/fencebuf.rs is the crate root, X/mod.rs is X).
An edge A -> B means that A names something of B: a `use` of a `crate::`,
`super::` or `self::` path or of a child module by name, or such a path in
the code. A module's declarations of its children (`mod x;`) are not edges;
its re-exports (`pub(crate) use x::Y`) are. What the crate root's `module!`
generates (`THIS_MODULE`, the parameters) is not an edge to the root: every
module may use it.

Prints each module with its layer (one more than the highest layer it
imports) and what it imports, highest first, then the modules that import
nothing of fencebuf, and exits 1 naming a cycle if
there is one.
"""

import os
import re
import sys


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel == ["fencebuf"]:
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def expand_use(tree):
    """Expand a use tree (`a::{b, c::{d}}`) into paths."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, t):
        depth = 0
        parts, cur = [], ""
        for ch in t:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        for p in parts:
            m = re.match(r"^(.*?)::\{(.*)\}$", p)
            if m:
                walk(prefix + m.group(1).split("::"), m.group(2))
            elif p.startswith("{") and p.endswith("}"):
                walk(prefix, p[1:-1])
            else:
                p = re.sub(r"\bas\b.*$", "", p)
                out.append(prefix + [s for s in p.split("::") if s])

    walk([], tree)
    return out


def resolve(path, here, modules):
    """The module a path names, longest known prefix, or None."""
    if not path:
        return None
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif here + (path[0],) in modules:
        # Uniform paths: a child module by its name.
        base, rest = here, path
    elif path[0] in ("super", "self"):
        # A mod.rs is the module itself; super of X/mod.rs is X's parent.
        base = here
        rest = path
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    best = None
    for i in range(len(rest) + 1):
        cand = base + tuple(rest[:i])
        if cand in modules:
            best = cand
    return best


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "rust")
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(d, n)
                files[module_of(root, p)] = p
    modules = set(files)
    edges = {m: set() for m in modules}
    for mod, path in files.items():
        text = strip_comments(open(path).read())
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            paths += expand_use(m.group(1))
        text = re.sub(r"\buse\s+[^;]+;", "", text)
        # Visibility (`pub(in crate::abstractions)`) names no import.
        text = re.sub(r"\bpub\(in\s+[\w:]+\)", "pub", text)
        for m in re.finditer(r"(?<!::)\b((?:crate|super)(?:::\w+)+)", text):
            paths.append(m.group(1).split("::"))
        for m in re.finditer(r"(?<!::)\b(\w+(?:::\w+)+)", text):
            paths.append(m.group(1).split("::"))
        for p in paths:
            target = resolve(p, mod, modules)
            if target is not None and target not in (mod, ()):
                edges[mod].add(target)

    def name(m):
        return "::".join(m) if m else "fencebuf (crate root)"

    # Layers: a module's layer is one more than the highest it imports.
    layer, state, stack = {}, {}, []

    def visit(m):
        if state.get(m) == "done":
            return layer[m]
        if state.get(m) == "open":
            cycle = stack[stack.index(m):] + [m]
            print("import cycle: " + " -> ".join(name(c) for c in cycle))
            sys.exit(1)
        state[m] = "open"
        stack.append(m)
        layer[m] = 1 + max((visit(t) for t in edges[m]), default=-1)
        stack.pop()
        state[m] = "done"
        return layer[m]

    for m in sorted(modules):
        visit(m)
    for m in sorted(modules, key=lambda m: (-layer[m], m)):
        if edges[m]:
            deps = ", ".join(sorted(name(t) for t in edges[m]))
            print(f"{layer[m]:2d}  {name(m)} -> {deps}")
    leaves = sorted(name(m) for m in modules if not edges[m])
    print(" 0  (import nothing of fencebuf) " + ", ".join(leaves))
    print(f"{len(modules)} modules, "
          f"{sum(len(e) for e in edges.values())} import edges, no cycle")


if __name__ == "__main__":
    main()
