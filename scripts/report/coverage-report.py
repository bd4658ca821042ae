#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fencebuf's line coverage, from the PCs KCOV recorded in the guest.

The guest prints, per suite, the module offsets its tasks ran
(`@@kcov SUITE SECTION OFFSET...`, qemu/guest-init.sh). Each offset is the
return address of a call to the coverage hook (__sanitizer_cov_trace_pc) that
the compiler put at the start of a basic block. This script finds every such
call in the module (its relocations), maps each to the source lines it
belongs to (llvm-symbolizer, with inlined frames: a block inlined from a helper
counts for the helper's line and for the line that called it), and reports:

  OUT/summary.txt    per-file table: lines with code, lines run, percent
  OUT/per-suite.txt  lines each suite ran
  OUT/unreached.txt  every line with code that no suite ran
  OUT/annotated/     each source file, lines marked '+' (run) or '-' (not run)
  OUT/coverage.json  the same, for scripts

An offset that is no call site of the hook means a PC was attributed to the
wrong load of the module: the script counts those and fails.

Usage: coverage-report.py --ko FENCEBUF.KO --root PROJECT --results LOG... --out DIR
       [--llvm-suffix -22] [--suites A,B] [--compare A B]
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

HOOK = "__sanitizer_cov_trace_pc"


def call_sites(ko):
    """({(section, recorded offset): (section, offset of the code that ran)},
    {recorded offsets whose block calls a panic}).

    KCOV records the hook's return address. A call of the hook returns right
    after itself; a block that ends a function can also jump to the hook as a
    tail call, and then the hook returns to that function's caller: each call
    of such a function (or of one that jumps to it) is a recorded offset too.
    """
    sections = []
    out = subprocess.run(["readelf", "-SW", ko], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+PROGBITS\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)", line)
        if m and "X" in m.group(2):
            sections.append(m.group(1))
    sites, calls, tails, panics = {}, defaultdict(list), defaultdict(list), set()
    for sec in sections:
        out = subprocess.run(["objdump", "-dr", "-j", sec, ko], check=True, capture_output=True,
                             text=True).stdout
        func = insn = block = None
        for line in out.splitlines():
            m = re.match(r"^[0-9a-f]+ <([^>+]+)>:$", line)
            if m:
                func, block = m.group(1), None
                continue
            m = re.match(r"^\s+([0-9a-f]+):\t([0-9a-f ]+)\t(\S+)", line)
            if m:
                addr, size = int(m.group(1), 16), len(m.group(2).split())
                insn = (addr, addr + size, m.group(3))
                # A call within the section needs no relocation: the target
                # is named, without an offset.
                m = re.search(r"\s[0-9a-f]+ <([^>+]+)>$", line)
                if not m:
                    continue
                target = m.group(1)
            else:
                m = re.match(r"^\s+[0-9a-f]+: R_X86_64_(?:PLT32|PC32)\s+(\S+)-0x4$", line)
                if not m or not insn:
                    continue
                target = m.group(1)
            addr, end, op = insn
            if op.startswith("call"):
                calls[target].append((sec, end))
                if target == HOOK:
                    sites[(sec, end)] = (sec, addr)
                    block = (sec, end)
                elif block and ("panicking" in target or "panic_" in target):
                    # The block that this hook call starts panics: an
                    # overflow check, an assertion or a UB check failing.
                    panics.add(block)
            elif op.startswith("jmp") and func:
                tails[target].append((func, sec, addr))
    # Functions that end in the hook, directly or through other tail calls.
    todo = [(f, (sec, addr)) for f, sec, addr in tails.get(HOOK, [])]
    seen = set()
    while todo:
        f, probe = todo.pop()
        if (f, probe) in seen:
            continue
        seen.add((f, probe))
        for ret in calls.get(f, []):
            sites.setdefault(ret, probe)
        todo += [(g, probe) for g, _, _ in tails.get(f, [])]
    return sites, panics


def uncalled(ko, probes):
    """The recorded sites in functions that nothing calls or refers to: copies
    the compiler kept out of line though every use inlined them."""
    sections, funcs, referenced = {}, [], set()
    out = subprocess.run(["readelf", "-SW", "-sW", "-rW", ko], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*\[\s*(\d+)\]\s+(\S+)", line)
        if m:
            sections[m.group(1)] = m.group(2)
            continue
        f = line.split()
        if len(f) == 8 and f[3] == "FUNC" and f[6] in sections:
            funcs.append((sections[f[6]], int(f[1], 16), int(f[2]), f[7]))
        elif len(f) >= 5 and f[2].startswith("R_X86_64_"):
            referenced.add(f[4])
    # Calls and jumps within a section need no relocation: objdump names them.
    for sec in set(sec for sec, _ in probes.values()):
        out = subprocess.run(["objdump", "-d", "-j", sec, ko], check=True, capture_output=True,
                             text=True).stdout
        referenced.update(re.findall(r"\s(?:call|jmp)\s+[0-9a-f]+ <([^>+]+)>", out))
    dead = set()
    for site, (sec, addr) in probes.items():
        for fsec, start, size, name in funcs:
            if fsec == sec and start <= addr < start + size:
                if name not in referenced:
                    dead.add(site)
                break
    return dead


def symbolize(ko, sites, root, llvm):
    """{site: [(file, line), ...]}: the frames of the code a site records, in the
    project, innermost first.

    llvm-symbolizer follows the inlined frames that line tables keep (GNU
    addr2line loses most of Rust's). In a module every section starts at
    address 0, so each section with call sites is first given an address
    range of its own (llvm-objcopy), which the line tables' relocations follow.
    """
    frames = {}
    sections = sorted(set(sec for sec, _ in sites.values()))
    # Not 0: where the sections without call sites stay.
    base = {sec: (i + 1) << 32 for i, sec in enumerate(sections)}
    placed = os.path.join(os.path.dirname(os.path.abspath(ko)), ".coverage-placed.ko")
    cmd = ["llvm-objcopy" + llvm]
    for sec in sections:
        cmd += ["--change-section-address", "%s=%#x" % (sec, base[sec])]
    subprocess.run(cmd + [ko, placed], check=True)
    order = sorted(sites)
    inp = "".join("%#x\n" % (base[sites[k][0]] + sites[k][1]) for k in order)
    try:
        out = subprocess.run(["llvm-symbolizer" + llvm, "--obj=" + placed, "--inlining",
                              "--functions=none"], input=inp, check=True, capture_output=True,
                             text=True).stdout
    finally:
        os.unlink(placed)
    root = os.path.realpath(root) + "/"
    groups = out.split("\n\n")
    checks = set()
    for site, group in zip(order, groups):
        found = []
        for i, line in enumerate(group.splitlines()):
            m = re.match(r"^(.*):(\d+):\d+$", line)
            if not m or m.group(2) == "0":
                continue
            path = os.path.normpath(m.group(1))
            # A block of core's own checks (a debug assertion, a UB check of
            # an unsafe precondition): it runs when the check fails.
            if i == 0 and re.search(r"/core/src/(ub_checks\.rs|intrinsics/|macros/mod\.rs)", path):
                checks.add(site)
            # Only the project's own sources (not synthetic names like cgu.0).
            if path.startswith(root) and os.path.isfile(path):
                found.append((path[len(root):], int(m.group(2))))
        frames[site] = found
    return frames, checks


# Code make check's debug kernel cannot run, by file: (path regex, reason).
KNOWN_UNREACHED = [
    (r"abstractions/debugfs\.rs$|helpers/dcache\.c$",
     "the debugfs sw_sync node, which fencebuf creates only on kernels without the C sw_sync: "
     "the debug kernel has it; the stock kernel's boot runs this code, without KCOV"),
]


def read_hits(paths):
    """({suite: {(section, offset)}}, {suite: summary dict})."""
    hits, summary = defaultdict(set), {}
    for path in paths:
        with open(path, errors="replace") as f:
            for raw in f:
                line = raw.rstrip("\r\n")
                if line.startswith("@@kcov "):
                    fields = line.split()
                    suite, sec = fields[1], fields[2]
                    hits[suite].update((sec, int(o, 16)) for o in fields[3:])
                elif line.startswith("@@kcov-summary "):
                    fields = line.split()
                    summary[fields[1]] = dict(kv.split("=", 1) for kv in fields[2:])
    return hits, summary


def lines_of(sites, frames):
    lines = set()
    for s in sites:
        lines.update(frames.get(s, ()))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ko", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--results", required=True, nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--llvm-suffix", default="",
                    help="the LLVM tools' version suffix (Debian's llvm-22: -22)")
    ap.add_argument("--suites", help="only these suites' coverage (comma-separated)")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"),
                    help="also the lines suite A and suite B ran, side by side")
    args = ap.parse_args()

    probes, panics = call_sites(args.ko)
    sites = set(probes)
    dead = uncalled(args.ko, probes)
    if not sites:
        sys.exit("coverage: %s has no call of %s: it was not built with KCOV "
                 "(a kernel with CONFIG_KCOV, and Kbuild's KCOV_INSTRUMENT)" % (args.ko, HOOK))
    frames, checks = symbolize(args.ko, probes, args.root, args.llvm_suffix)
    panics |= checks
    rust_sites = sum(1 for s in sites if any(f.endswith(".rs") for f, _ in frames.get(s, ())))
    if not rust_sites:
        sys.exit("coverage: none of the %d call sites of %s is in fencebuf's Rust: rustc did not "
                 "instrument it (scripts/Makefile.kcov's RUSTFLAGS_KCOV)" % (len(sites), HOOK))
    hits, summary = read_hits(args.results)
    if args.suites:
        keep = set(args.suites.split(","))
        hits = {s: h for s, h in hits.items() if s in keep}
    if not hits:
        sys.exit("coverage: no @@kcov lines in %s: was the guest run with FENCEBUF_COVERAGE=1 "
                 "on a kernel with KCOV?" % " ".join(args.results))
    all_hits = set().union(*hits.values())
    unmatched = all_hits - sites
    instrumented = lines_of(sites, frames)
    executed = lines_of(all_hits & sites, frames)

    per_file = defaultdict(lambda: [set(), set()])
    for f, n in instrumented:
        per_file[f][0].add(n)
    for f, n in executed:
        per_file[f][1].add(n)

    os.makedirs(os.path.join(args.out, "annotated"), exist_ok=True)
    total_i, total_e = len(instrumented), len(executed)
    pct = lambda e, i: 100.0 * e / i if i else 0.0
    rows = ["%-48s %7s %7s %7s" % ("file", "lines", "run", "%")]
    for f in sorted(per_file):
        i, e = per_file[f]
        rows.append("%-48s %7d %7d %6.1f%%" % (f, len(i), len(e), pct(len(e), len(i))))
    rows.append("%-48s %7d %7d %6.1f%%" % ("total", total_i, total_e, pct(total_e, total_i)))
    own = set(s for s in sites if frames.get(s))
    head = [
        "fencebuf line coverage, from KCOV (%s)" % ", ".join(args.results),
        "call sites of %s in %s: %d, %d of them run" % (HOOK, os.path.basename(args.ko), len(sites),
                                                     len(all_hits & sites)),
        "  in fencebuf's sources (the lines below): %d, %d run; %d in Rust"
        % (len(own), len(all_hits & own), rust_sites),
        "  in kernel-crate and core code instantiated for fencebuf (Vec, Box, Arc, the"
        " misc-device and PCI adapters), not fencebuf's lines: %d, %d run"
        % (len(sites - own), len((all_hits & sites) - own)),
        "A line counts when a basic block KCOV instruments starts on it (or inlines"
        " code that does).",
        "",
    ]
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write("\n".join(head + rows) + "\n")

    with open(os.path.join(args.out, "per-suite.txt"), "w") as f:
        f.write("%-24s %7s %7s  %s\n" % ("suite", "lines", "%", "recorder (files, PCs lost, overflows)"))
        for s in sorted(hits):
            n = len(lines_of(hits[s] & sites, frames))
            sm = summary.get(s, {})
            f.write("%-24s %7d %6.1f%%  %s, %s, %s\n" % (s, n, pct(n, total_i), sm.get("files", "?"),
                                                      sm.get("lost", "?"), sm.get("overflows", "?")))

    # Why a line cannot run under make check, where that is known.
    line_sites = defaultdict(set)
    for site in sites:
        for fl in frames.get(site, ()):
            line_sites[fl].add(site)
    reasons = defaultdict(int)

    def reason(f, n):
        if line_sites[(f, n)] <= panics:
            return "panic path (an overflow check, assertion or UB check failing: a bug)"
        if line_sites[(f, n)] <= dead:
            return ("in an out-of-line copy that nothing calls: every caller inlined the "
                    "function, and the inlined code is counted on its own lines")
        if line_sites[(f, n)] <= dead | panics:
            return "panic paths, and out-of-line copies that nothing calls"
        for pattern, why in KNOWN_UNREACHED:
            if re.search(pattern, f):
                return why
        return "not analysed"

    with open(os.path.join(args.out, "unreached.txt"), "w") as out:
        for f in sorted(per_file):
            i, e = per_file[f]
            src = os.path.join(args.root, f)
            text = open(src, errors="replace").read().splitlines() if os.path.exists(src) else []
            for n in sorted(i - e):
                why = reason(f, n)
                reasons[why] += 1
                out.write("%s:%d: %s\n    why: %s\n" % (f, n, text[n - 1].strip() if n <= len(text) else "",
                                                       why))
            dest = os.path.join(args.out, "annotated", f + ".txt")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "w") as a:
                for n, t in enumerate(text, 1):
                    mark = "+" if n in e else "-" if n in i else " "
                    a.write("%s %5d  %s\n" % (mark, n, t))

    with open(os.path.join(args.out, "coverage.json"), "w") as f:
        json.dump({"call_sites": len(sites), "rust_call_sites": rust_sites,
                   "lines": total_i, "run": total_e, "unmatched_pcs": len(unmatched),
                   "files": {k: {"lines": sorted(v[0]), "run": sorted(v[1])} for k, v in per_file.items()},
                   "suites": {s: sorted("%s:%d" % x for x in lines_of(hits[s] & sites, frames))
                              for s in hits},
                   "recorder": summary, "unreached_by_reason": reasons}, f, indent=1)

    print("\n".join(rows))
    print()
    print("lines not run, by reason (build/coverage/unreached.txt lists them):")
    for why, count in sorted(reasons.items(), key=lambda x: -x[1]):
        print("  %4d  %s" % (count, why))
    if args.compare:
        a, b = args.compare
        la = lines_of(hits.get(a, set()) & sites, frames)
        lb = lines_of(hits.get(b, set()) & sites, frames)
        print("%s: %d lines; %s: %d lines; only %s: %d; only %s: %d"
              % (a, len(la), b, len(lb), a, len(la - lb), b, len(lb - la)))
    lost = sum(int(s.get("lost", 0)) for s in summary.values())
    overflows = sum(int(s.get("overflows", 0)) for s in summary.values())
    panic_only = sum(1 for fl in instrumented if line_sites[fl] <= panics)
    print("fencebuf line coverage: %d of %d lines (%.1f%%); of the %d lines that are not only "
          "panic paths, %.1f%%; %d recorded sites (%d in Rust); report in %s"
          % (total_e, total_i, pct(total_e, total_i), total_i - panic_only,
             pct(total_e, total_i - panic_only), len(sites), rust_sites, args.out))
    if lost or overflows:
        print("coverage: the recorder lost %d PCs and overflowed %d times: lines may be missing"
              % (lost, overflows))
    if unmatched:
        print("coverage: %d recorded offsets are no call site of %s, e.g. %s: PCs attributed "
              "to the wrong load of the module" % (len(unmatched), HOOK, sorted(unmatched)[:3]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
