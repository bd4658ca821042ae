#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build the rustdoc of fencebuf's crates, with broken intra-doc links as errors.

Kbuild has no rustdoc target for an external module, so this takes the
rustc command kbuild ran for each crate (its .cmd file, from a module build)
and runs rustdoc with the same flags, target and crates, private items
included: the crates are drivers, everything in them is private.

Usage: rustdoc.py OUTDIR BUILD_DIR...
  BUILD_DIR: a module build's MO= directory (make modules: build/module,
  build/importer), which holds rust/.CRATE.o.cmd.
"""

import glob
import os
import shlex
import subprocess
import sys

# Flags that only make sense for code generation, which rustdoc refuses.
DROP_PREFIXES = ("--emit", "--remap-path-", "-Wclippy::", "-Aclippy::")


def rustdoc_command(cmd_file, outdir):
    with open(cmd_file) as f:
        saved = f.readline()
    if ":=" not in saved:
        sys.exit(f"rustdoc: {cmd_file}: no saved command")
    rustc_cmd = saved.split(":=", 1)[1].split(";", 1)[0]
    args, env, skip = [], dict(os.environ, RUSTC_BOOTSTRAP="1"), False
    words = shlex.split(rustc_cmd)
    while words and "=" in words[0] and not words[0].startswith("-"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    rustc, crate = words[0], words[-1]
    for w in words[1:-1]:
        if skip:
            skip = False
        elif w == "--out-dir":
            skip = True
        elif not w.startswith(DROP_PREFIXES):
            args.append(w)
    rustdoc = os.path.join(os.path.dirname(rustc), "rustdoc")
    name = os.path.basename(crate)[:-len(".rs")]
    return ([rustdoc, *args, "--document-private-items",
             "-Drustdoc::broken_intra_doc_links", "-Arustdoc::private_intra_doc_links",
             "--crate-name", name, "-o", outdir, crate], env)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, failed, n = argv[1], 0, 0
    for build in argv[2:]:
        cmds = glob.glob(os.path.join(build, "rust", ".*.o.cmd")) + \
            glob.glob(os.path.join(build, ".*_importer.o.cmd"))
        for cmd_file in cmds:
            cmd, env = rustdoc_command(cmd_file, outdir)
            n += 1
            # Relative paths in the command are the build directory's.
            if subprocess.run(cmd, cwd=build, env=env).returncode != 0:
                print(f"rustdoc: {cmd[-1]} failed", file=sys.stderr)
                failed += 1
    if n == 0:
        print("rustdoc: no crate's rustc command in " + " ".join(argv[2:]) +
              " (build the module first)", file=sys.stderr)
        return 1
    if not failed:
        print(f"rustdoc: {n} crates documented in {outdir}, no broken link")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
