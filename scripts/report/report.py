#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a fencebuf test run.

Reads the guest's results (TAP per suite, between @@fencebuf markers), any
host-side TAP files (lints), and the whole guest kernel log. Every test
result counts; every kernel splat in the log counts as one failure; a suite
that did not finish or ran no test counts as a failure. Prints a per-suite
table and ends with the line "N passed, N failed[, N skipped]". Exit status:
0 when nothing failed, 1 otherwise.

Usage: report.py --results R --console C --suites a,b [--host-tap F]... [--vm-rc N]
       report.py --splats-only --console C
"""

import argparse
import os
import re
import sys

TAP_RE = re.compile(r"^(not ok|ok)\s+\d+\s*-?\s*(.*?)\s*(?:#\s*(SKIP|TODO)\b(.*))?$", re.I)
PLAN_RE = re.compile(r"^1\.\.(\d+)")
# Counters the reliability suites print ("# stat: NAME=N"), summed over suites.
STAT_RE = re.compile(r"^#\s*stat: (\w+)=(\d+)\s*$")

# Kernel reports that fail a run. Each match is one failure.
SPLATS = [
    ("warning", re.compile(r"\bWARNING: ")),
    ("bug", re.compile(r"\bBUG: ")),
    ("kasan", re.compile(r"KASAN: ")),
    ("lockdep", re.compile(r"possible (circular|recursive) locking|inconsistent lock state|"
                           r"lock held when returning|bad unlock balance")),
    ("rcu", re.compile(r"suspicious RCU usage|rcu: INFO: .*detected stall|self-detected stall")),
    ("refcount", re.compile(r"refcount_t: ")),
    ("kmemleak", re.compile(r"unreferenced object 0x")),
    ("oops", re.compile(r"\bOops\b|general protection fault|Kernel panic")),
    ("hung-task", re.compile(r"INFO: task .* blocked for more than")),
    ("debugobjects", re.compile(r"ODEBUG: ")),
    ("ubsan", re.compile(r"UBSAN: ")),
]
# Lines that mention a pattern without being a report.
NOT_SPLATS = [re.compile(r"fencebuf-guest: ")]  # our own markers and heartbeat


def parse_results(path):
    """Return {suite: {"plan": n|None, "results": [(status, name)], "rc": n|None}}."""
    suites, cur = {}, None
    stats = {}
    leaks = None
    known_leaks = 0
    cpus = None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = re.match(r"^@@fencebuf suite-begin (\S+)", line)
            if m:
                cur = suites.setdefault(m.group(1), {"plan": None, "results": [], "rc": None})
                continue
            m = re.match(r"^@@fencebuf suite-end (\S+) rc=(\d+)", line)
            if m:
                suites.setdefault(m.group(1), {"plan": None, "results": [], "rc": None})["rc"] = int(m.group(2))
                cur = None
                continue
            m = re.match(r"^@@fencebuf cpus (\d+) expected (\d+)", line)
            if m:
                cpus = (int(m.group(1)), int(m.group(2)))
                continue
            m = re.match(r"^@@fencebuf kmemleak (\d+)", line)
            if m:
                # One line per guest boot (scripts/test/check.sh may boot twice).
                leaks = (leaks or 0) + int(m.group(1))
                continue
            m = re.match(r"^@@fencebuf kmemleak-known (\d+)", line)
            if m:
                known_leaks += int(m.group(1))
                continue
            if cur is None:
                continue
            m = STAT_RE.match(line)
            if m:
                stats[m.group(1)] = stats.get(m.group(1), 0) + int(m.group(2))
                continue
            m = PLAN_RE.match(line)
            if m and cur["plan"] is None:
                cur["plan"] = int(m.group(1))
                continue
            m = TAP_RE.match(line)
            if m:
                ok, name, directive = m.group(1).lower() == "ok", m.group(2), (m.group(3) or "").upper()
                status = "skip" if directive == "SKIP" else ("pass" if ok else "fail")
                cur["results"].append((status, name))
    return suites, leaks, known_leaks, cpus, stats


def parse_tap_file(path):
    results = []
    with open(path, errors="replace") as f:
        for line in f:
            m = TAP_RE.match(line.rstrip("\n"))
            if m:
                ok, name, directive = m.group(1).lower() == "ok", m.group(2), (m.group(3) or "").upper()
                results.append(("skip" if directive == "SKIP" else ("pass" if ok else "fail"), name))
    return results


def scan_console(path):
    found = []
    with open(path, errors="replace") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if any(p.search(line) for p in NOT_SPLATS):
                continue
            for kind, pat in SPLATS:
                if pat.search(line):
                    found.append((kind, n, line.strip()))
                    break
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results")
    ap.add_argument("--console", required=True)
    ap.add_argument("--suites")
    ap.add_argument("--splats-only", action="store_true",
                    help="only scan the kernel log; exit 1 if it has a splat")
    ap.add_argument("--host-tap", action="append", default=[])
    ap.add_argument("--vm-rc", type=int, default=0)
    ap.add_argument("--no-kmemleak", action="store_true",
                    help="no guest had kmemleak: do not require its final scan")
    a = ap.parse_args()

    if a.splats_only:
        splats = scan_console(a.console)
        for kind, n, line in splats:
            print(f"kernel log line {n}: [{kind}] {line}")
        print(f"kernel log: {len(splats)} splat(s)")
        return 1 if splats else 0
    if not a.results or a.suites is None:
        ap.error("--results and --suites are required")

    passed = failed = skipped = 0
    failures = []
    rows = []

    def count(status, name):
        nonlocal passed, failed, skipped
        if status == "pass":
            passed += 1
        elif status == "skip":
            skipped += 1
        else:
            failed += 1
            failures.append(name)

    for path in a.host_tap:
        res = parse_tap_file(path)
        for status, name in res:
            count(status, f"host: {name}")
        label = os.path.basename(path).removesuffix(".tap")
        rows.append(("host checks" if label == "host" else label.replace("host-", "host: "), res, None))

    suites, leaks, known_leaks, cpus, stats = parse_results(a.results)
    wanted = [s for s in a.suites.split(",") if s]
    if cpus is None:
        # No guest booted when no suite was asked for (host checks only).
        if wanted:
            count("fail", "guest: did not report its CPUs")
    elif cpus[0] != cpus[1]:
        count("fail", f"guest: {cpus[0]} CPUs online, {cpus[1]} expected")
    for name in wanted:
        s = suites.get(name)
        if s is None:
            count("fail", f"{name}: suite did not run")
            rows.append((name, [], "did not run"))
            continue
        for status, tname in s["results"]:
            count(status, f"{name}: {tname}")
        note = None
        if s["rc"] is None:
            note = "did not finish"
        elif not s["results"]:
            note = "ran no test"
        elif s["plan"] is not None and s["plan"] != len(s["results"]):
            note = f"planned {s['plan']} tests, reported {len(s['results'])}"
        elif s["rc"] != 0 and not any(st == "fail" for st, _ in s["results"]):
            note = f"exited {s['rc']} without a failing test"
        if note:
            count("fail", f"{name}: {note}")
        rows.append((name, s["results"], note))

    splats = scan_console(a.console)
    for kind, n, line in splats:
        count("fail", f"kernel log line {n}: [{kind}] {line}")
    if leaks is None:
        if not a.no_kmemleak:
            count("fail", "kmemleak: the final scan did not run")
    elif leaks:
        count("fail", f"kmemleak: {leaks} suspected leak(s) (listed in the results log)")
    if a.vm_rc == 2:
        count("fail", "VM: hard timeout")
    elif a.vm_rc == 4:
        count("fail", "VM: the guest hung (no heartbeat in its kernel log)")
    elif a.vm_rc == 5:
        count("fail", "VM: QEMU itself crashed, twice (an emulator bug; see the host's dmesg)")
    elif a.vm_rc != 0:
        count("fail", "VM: ended before the guest finished")

    print()
    print("fencebuf test summary")
    print(f"  {'suite':<22} {'pass':>5} {'fail':>5} {'skip':>5}")
    for name, res, note in rows:
        c = {k: sum(1 for st, _ in res if st == k) for k in ("pass", "fail", "skip")}
        extra = f"  ({note})" if note else ""
        print(f"  {name:<22} {c['pass']:>5} {c['fail']:>5} {c['skip']:>5}{extra}")
    print(f"  {'kernel log':<22} {'':>5} {len(splats):>5} {'':>5}  (splats: WARNING, BUG, KASAN, lockdep, RCU, refcount, kmemleak, Oops, ...)")
    if cpus is not None:
        print(f"  guest CPUs: {cpus[0]} (expected {cpus[1]})")
    if leaks is not None:
        print(f"  kmemleak: {leaks} suspected leak(s)" +
              (f"; and {known_leaks} scatterlist(s) of VFIO's dma-buf mappings, a Linux 7.3 "
               "leak outside fencebuf (Documentation/fencebuf/design.rst, "
               "\"Kernel bugs worked around\")" if known_leaks else ""))
    if stats:
        # Leaked objects: the suites' own scans and the final one.
        objects = max(stats.get("leaked_objects", 0), leaks or 0)
        print(f"  reliability: {stats.get('iterations', 0)} fuzz iterations, "
              f"{stats.get('fault_points', 0)} fault points exercised, "
              f"{objects} leaked objects, {stats.get('leaked_fds', 0)} leaked fds")
    if failures:
        print("failures:")
        for f in failures[:50]:
            print(f"  - {f}")
        if len(failures) > 50:
            print(f"  ... and {len(failures) - 50} more")
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
