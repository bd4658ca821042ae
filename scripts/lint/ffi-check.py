#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the Rust declarations of C functions against their C prototypes.

Usage: ffi-check.py RUST_DIR HELPERS_H KERNEL_SRC

Every `extern "C"` function declared under RUST_DIR (fencebuf's C helpers,
and the few kernel functions bindgen does not give us) must match its C
prototype: in HELPERS_H for the `fencebuf_*` helpers, else in KERNEL_SRC's
include/linux/*.h. Checked: the function exists, the number of parameters,
and each parameter's and the result's type:

  C                          Rust
  [const] struct S *         *const|*mut bindings::S, or *const|*mut c_void
                             for the structs of NOT_FFI_SAFE only
  [const] char *             *const|*mut c_char or u8
  [const] u8|u16|u32|u64 *   *const|*mut u8|u16|u32|u64 (__user or not)
  [const] T * (a typedef)    *const|*mut bindings::T
  bool, int, size_t          bool, c_int|i32, usize
  ktime_t                    bindings::ktime_t|i64
  enum E                     bindings::E
  void (result)              no result

`const` must match (`*const` for a const pointee). Prints one line per
mismatch and exits 1 if there is any.
"""

import glob
import os
import re
import sys

# The structs that a declaration passes as `void *`: `improper_ctypes`
# rejects bindgen's `bindings::S` in an `extern "C"` declaration (it follows
# pointers), because each reaches a struct that some configurations leave
# empty: `struct lock_class_key` without lockdep, as on Debian's kernels.
# Any other struct pointer must keep its type.
NOT_FFI_SAFE = {"dentry", "inode", "file", "vm_area_struct", "vm_operations_struct",
                "dma_buf_attachment", "p2pdma_provider"}

SCALARS = {
    "bool": {"bool"},
    "int": {"c_int", "i32"},
    "unsigned int": {"c_uint", "u32"},
    "long": {"c_long", "isize"},
    "unsigned long": {"c_ulong", "usize"},
    "size_t": {"usize"},
    "ktime_t": {"bindings::ktime_t", "i64"},
}


def rust_decls(root):
    for path in sorted(glob.glob(os.path.join(root, "**", "*.rs"), recursive=True)):
        text = open(path).read()
        text = re.sub(r"//[^\n]*", "", text)
        for block in re.finditer(r'extern "C" \{(.*?)\n\}', text, re.S):
            for m in re.finditer(r"fn\s+(\w+)\s*\((.*?)\)\s*(?:->\s*([^;]+))?;", block.group(1), re.S):
                params = [p.strip() for p in m.group(2).split(",") if p.strip()]
                types = [re.sub(r"\s+", " ", p.split(":", 1)[1].strip()) for p in params]
                ret = re.sub(r"\s+", " ", m.group(3).strip()) if m.group(3) else None
                yield path, m.group(1), types, ret


def c_prototype(name, texts):
    pat = re.compile(r"(?:^|[;}\n])\s*((?:extern\s+)?[\w\s\*]*?[\s\*])" + name + r"\s*\(([^)]*)\)\s*;", re.S)
    for text in texts:
        m = pat.search(text)
        if m:
            ret = re.sub(r"\s+", " ", m.group(1).replace("extern", "")).strip()
            params = [re.sub(r"\s+", " ", p).strip() for p in m.group(2).split(",")]
            params = [] if params == ["void"] else params
            return ret, params
    return None


def c_type(param):
    """The type of a C parameter declaration (drop the name)."""
    param = param.replace("*", " * ")
    words = param.split()
    if len(words) > 1 and words[-1] != "*" and words[-1] not in ("int", "long", "char", "bool"):
        words = words[:-1]
    return " ".join(words)


def matches(c, rust):
    c = re.sub(r"\s+", " ", c.replace("*", " * ").replace("__user", "")).strip()
    if c == "void":
        return rust is None
    if rust is None:
        return False
    if c.endswith("*"):
        base = c[:-1].strip()
        const = base.startswith("const ")
        base = base[len("const "):] if const else base
        m = re.match(r"\*(const|mut) (.+)", rust)
        if not m or (m.group(1) == "const") != const:
            return False
        target = m.group(2).replace("kernel::ffi::", "").replace("core::ffi::", "")
        if base.startswith("struct "):
            name = base[len("struct "):]
            return target == "bindings::" + name or (target == "c_void" and name in NOT_FFI_SAFE)
        if base == "char":
            return target in ("c_char", "u8")
        if base == "void":
            return target == "c_void"
        if base in ("u8", "u16", "u32", "u64"):
            return target == base
        return target == "bindings::" + base
    if c.startswith("enum "):
        return rust == "bindings::" + c[len("enum "):]
    return rust in SCALARS.get(c, set())


def main():
    rust_dir, helpers, ksrc = sys.argv[1:4]
    helper_text = open(helpers).read()
    kernel_texts = None
    bad = checked = 0
    for path, name, types, ret in rust_decls(rust_dir):
        where = os.path.relpath(path)
        if name.startswith("fencebuf_"):
            proto = c_prototype(name, [helper_text])
        else:
            if kernel_texts is None:
                kernel_texts = [open(h, errors="replace").read()
                                for h in glob.glob(os.path.join(ksrc, "include/linux/*.h"))]
            proto = c_prototype(name, kernel_texts)
        if proto is None:
            print(f"{where}: {name}: no C prototype found")
            bad += 1
            continue
        cret, cparams = proto
        checked += 1
        if len(cparams) != len(types):
            print(f"{where}: {name}: {len(types)} parameters, C has {len(cparams)}")
            bad += 1
            continue
        if not matches(cret, ret):
            print(f"{where}: {name}: returns {ret or 'nothing'}, C returns {cret}")
            bad += 1
        for i, (cp, rt) in enumerate(zip(cparams, types)):
            if not matches(c_type(cp), rt):
                print(f"{where}: {name}: parameter {i + 1} is {rt}, C has {c_type(cp)}")
                bad += 1
    print(f"{checked} C functions declared in Rust checked against their prototypes, "
          f"{bad} mismatch(es)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
