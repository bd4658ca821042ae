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
  OUT/unreached.txt  every line with code that no suite ran, and why: a panic
                     path, a function nothing that runs calls, or the reason
                     unreached-reasons.txt (beside this script) gives
  OUT/annotated/     each source file, lines marked '+' (run) or '-' (not run)

An offset that is no call site of the hook means a PC was attributed to the
wrong load of the module: the script counts those and fails. It fails too if
a line the reasons file says cannot run ran, if an entry no longer matches its
line, and, with --complete (the whole make check), if a line not run has no
reason.

Usage: coverage-report.py --ko FENCEBUF.KO --root PROJECT --results LOG... --out DIR
       [--llvm-suffix -22] [--suites A,B] [--compare A B] [--reasons FILE] [--complete]
       coverage-report.py --check-reasons --root PROJECT [--reasons FILE]
The second form checks only that every entry of the reasons file still
names its line's text (make check's host checks, so that moving code fails
there and not at the next make coverage).
"""
import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict

HOOK = "__sanitizer_cov_trace_pc"


def functions(ko):
    """({section: {offset: name}}, {name: name}) of the module's functions:
    one name per address, and what each other name at that address (code
    the linker folded, identical for several types) stands for."""
    names, funcs, alias = {}, defaultdict(dict), {}
    out = subprocess.run(["readelf", "-SW", "-sW", ko], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*\[\s*(\d+)\]\s+(\S+)", line)
        if m:
            names[m.group(1)] = m.group(2)
            continue
        f = line.split()
        if len(f) == 8 and f[3] == "FUNC" and f[6] in names:
            at = funcs[names[f[6]]].setdefault(int(f[1], 16), f[7])
            alias[f[7]] = at
    return funcs, alias


def resolve(funcs, name, addend):
    """The function a relocation against `name` + `addend` targets: a
    section symbol (a local function's address, as the assembler writes
    it) names the function at that offset."""
    funcs, alias = funcs
    if name in funcs:
        return funcs[name].get(addend, name)
    return alias.get(name, name)


def branches(ko, sec, funcs):
    """(function, (start, end, mnemonic), target) for each instruction of
    section `sec` that branches to or takes the address of a symbol (its
    name), or jumps within its function (the address, an int).

    A reference to another section or module has a relocation, and objdump
    shows its unrelocated displacement as a target: the next instruction,
    which after a function's last instruction is the next function. So the
    relocation names the target where there is one; otherwise (within the
    section) the target objdump names, without an offset.
    """
    out = subprocess.run(["objdump", "-dr", "-j", sec, ko], check=True, capture_output=True,
                         text=True).stdout
    func = insn = shown = None
    for line in out.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\t([0-9a-f ]+)\t(\S+)", line)
        h = None if m else re.match(r"^[0-9a-f]+ <([^>+]+)>:$", line)
        r = None if m or h else re.match(
            r"^\s+[0-9a-f]+: R_X86_64_(\w+)\s+([^+\s-]+)([+-]0x[0-9a-f]+)?$", line)
        if r and insn:
            # PC-relative from the end of the 4-byte field: the target is
            # the symbol plus the addend plus 4.
            pcrel = 4 if r.group(1) in ("PLT32", "PC32") else 0
            yield func, insn, resolve(funcs, r.group(2), int(r.group(3) or "0", 16) + pcrel)
            shown = None
            continue
        if not m and not h:
            continue
        if shown:
            yield func, insn, shown
        insn = shown = None
        if h:
            func = resolve(funcs, h.group(1), 0)
            continue
        addr, size = int(m.group(1), 16), len(m.group(2).split())
        insn = (addr, addr + size, m.group(3))
        # A branch's target, or a RIP-relative address (`# ADDR <name>`);
        # a jump within a function: its address.
        t = re.search(r"\s([0-9a-f]+) <([^>]+)>$", line)
        if not t:
            shown = None
        elif "+" not in t.group(2):
            shown = resolve(funcs, t.group(2), 0)
        else:
            shown = int(t.group(1), 16) if insn[2].startswith("j") else None
    if shown:
        yield func, insn, shown


def call_sites(ko, funcs):
    """({(section, recorded offset): (section, offset of the code that ran)},
    {recorded offsets whose block panics},
    {function: the names it calls, jumps to or takes the address of}).

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
    refs = defaultdict(set)
    edges, ranges = {}, defaultdict(list)
    for sec in sections:
        block = last = None
        for func, (addr, end, op), target in branches(ko, sec, funcs):
            if func != last:
                block, last = None, func
            if isinstance(target, int):
                # A block that only jumps elsewhere (an edge LLVM split to
                # put a hook on it): where it goes decides what it is.
                if block and first and op == "jmp":
                    edges[block] = (sec, target)
                first = False
                continue
            refs[func].add(target)
            if op.startswith("call"):
                calls[target].append((sec, end))
                if target == HOOK:
                    sites[(sec, end)] = (sec, addr)
                    block, first = (sec, end), True
                    continue
                if block and re.search(r"panicking|panic_|unreachable_unchecked", target):
                    # The block that this hook call starts panics: an
                    # overflow check, an assertion or a UB check failing.
                    panics.add(block)
                    ranges[sec].append((block[1], end))
            elif op.startswith("jmp") and func:
                tails[target].append((func, sec, addr))
            first = False
    # Edges into a panicking block, past its hook, panic too.
    for block, (sec, target) in edges.items():
        if any(a <= target < b for a, b in ranges[sec]):
            panics.add(block)
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
    return sites, panics, refs


def uncalled(ko, funcs, probes, refs):
    """The recorded sites in functions that cannot run: copies the compiler
    kept out of line though every use inlined them, and what only they call.

    A function can run if the module's data refers to it (an ops table, a
    vtable, its init and exit) or a function that can run calls it, jumps to
    it or takes its address (`refs`, from call_sites()).
    """
    live = set()
    out = subprocess.run(["readelf", "-rW", ko], check=True, capture_output=True, text=True).stdout
    data = False
    for line in out.splitlines():
        # Code's references are in `refs`; debug info, unwind tables and the
        # like point at every function, and are no references.
        m = re.match(r"^Relocation section '\.rela(\S+)'", line)
        if m:
            data = re.match(r"^\.(text|init\.text|exit\.text|debug_|orc_|ibt_)|^__bug_table",
                            m.group(1)) is None
            continue
        # OFFSET INFO TYPE VALUE NAME [+ ADDEND]
        f = line.split()
        if data and len(f) >= 5 and f[2].startswith("R_X86_64_"):
            live.add(resolve(funcs, f[4], int(f[6], 16) if f[5:6] == ["+"] else 0))
    todo = list(live)
    while todo:
        for target in refs.get(todo.pop(), ()):
            if target not in live:
                live.add(target)
                todo.append(target)
    dead = set()
    for site, (sec, addr) in probes.items():
        starts = [o for o in funcs[0][sec] if o <= addr]
        if starts and funcs[0][sec][max(starts)] not in live:
            dead.add(site)
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


NOT_ANALYSED = "not analysed (no reason in the reasons file)"


def read_reasons(path, root):
    """({(file, line) or file: reason}, [problems]) from the reasons file:
    a `why: REASON` line, then the lines it is about, each `FILE:LINE: TEXT`
    (TEXT: the source line, trimmed, which must still be there) or a whole
    FILE. `#` starts a comment."""
    reasons, problems, why = {}, [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("why: "):
                why = line[5:].strip()
                continue
            if why is None:
                problems.append("%s:%d: no `why:` before it" % (path, n))
                continue
            m = re.match(r"^(\S+):(\d+): (.*)$", line)
            if not m:
                reasons[line.strip()] = why
                if not os.path.isfile(os.path.join(root, line.strip())):
                    problems.append("%s:%d: no file %s" % (path, n, line.strip()))
                continue
            f_, ln, text = m.group(1), int(m.group(2)), m.group(3).strip()
            src = os.path.join(root, f_)
            lines = open(src, errors="replace").read().splitlines() if os.path.isfile(src) else []
            if ln > len(lines) or lines[ln - 1].strip() != text:
                problems.append("%s:%d: %s:%d is no longer `%s`: the source changed, check the "
                                "reason and update the entry" % (path, n, f_, ln, text))
            reasons[(f_, ln)] = why
    return reasons, problems


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
    ap.add_argument("--check-reasons", action="store_true",
                    help="only check that the reasons file's entries match their lines")
    ap.add_argument("--ko")
    ap.add_argument("--root", required=True)
    ap.add_argument("--results", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--llvm-suffix", default="",
                    help="the LLVM tools' version suffix (Debian's llvm-22: -22)")
    ap.add_argument("--suites", help="only these suites' coverage (comma-separated)")
    ap.add_argument("--reasons", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "unreached-reasons.txt"),
                    help="why lines cannot run (default: unreached-reasons.txt beside this script)")
    ap.add_argument("--complete", action="store_true",
                    help="the results are the whole make check: fail unless every line not run "
                         "has a reason")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"),
                    help="also the lines suite A and suite B ran, side by side")
    args = ap.parse_args()
    if args.check_reasons:
        listed, problems = read_reasons(args.reasons, args.root)
        for p in problems:
            print("coverage: " + p)
        if not problems:
            print("coverage: the %d entries of %s match their lines" % (len(listed), args.reasons))
        return 1 if problems else 0
    if not (args.ko and args.results and args.out):
        ap.error("--ko, --results and --out are required")

    funcs = functions(args.ko)
    probes, panics, refs = call_sites(args.ko, funcs)
    sites = set(probes)
    dead = uncalled(args.ko, funcs, probes, refs)
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
    listed, problems = read_reasons(args.reasons, args.root)
    used = set()

    def reason(f, n):
        if line_sites[(f, n)] <= panics:
            return "panic path (an overflow check, assertion or UB check failing: a bug)"
        if line_sites[(f, n)] <= dead:
            return ("in a function that nothing which runs calls: an out-of-line copy whose "
                    "callers all inlined it (the inlined code counts on its own lines)")
        if line_sites[(f, n)] <= dead | panics:
            return "panic paths, and functions that nothing which runs calls"
        why = listed.get((f, n)) or listed.get(f)
        if why:
            used.add((f, n) if (f, n) in listed else f)
            return why
        return NOT_ANALYSED

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
    rc = 0
    if unmatched:
        print("coverage: %d recorded offsets are no call site of %s, e.g. %s: PCs attributed "
              "to the wrong load of the module" % (len(unmatched), HOOK, sorted(unmatched)[:3]))
        rc = 1
    # The reasons file must stay true: a line it says cannot run must not
    # run, and each entry must still be about a line that does not.
    ran = sorted(k for k in listed if isinstance(k, tuple) and k in executed)
    for f, n in ran:
        problems.append("%s:%d runs now: its entry in %s is wrong or out of date"
                        % (f, n, args.reasons))
    if args.complete:
        for k in sorted((k for k in listed if k not in used and k not in ran), key=str):
            problems.append("%s: listed in %s, but no line there is left unexplained (it has "
                            "no code, or a panic path or an uncalled function's)"
                            % (k if isinstance(k, str) else "%s:%d" % k, args.reasons))
        unexplained = reasons.get(NOT_ANALYSED, 0)
        if unexplained:
            problems.append("%d lines not run have no reason: reach them with a test, or say in "
                            "%s why they cannot run (they are in unreached.txt)"
                            % (unexplained, args.reasons))
    for p in problems:
        print("coverage: " + p)
    return 1 if problems else rc


if __name__ == "__main__":
    sys.exit(main())
