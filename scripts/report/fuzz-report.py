#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fuzzer's output in the guest's results, for make fuzz (scripts/test/fuzz.sh).

Saves each `@@fuzz-corpus HEX` entry as a file named by its content in
CORPUS, and prints (and writes to GROWTH) the basic blocks each suite had
reached at each `fuzz-growth: t=N blocks=N ...` line, the suites side by side.

Usage: fuzz-report.py RESULTS CORPUS GROWTH
"""
import hashlib
import os
import re
import sys


def main():
    results, corpus, growth = sys.argv[1:4]
    os.makedirs(corpus, exist_ok=True)
    suite, series, new = None, {}, 0
    with open(results, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = re.match(r"^@@fencebuf suite-begin (\S+)", line)
            if m:
                suite = m.group(1)
                continue
            m = re.match(r"^@@fuzz-corpus ([0-9a-f]+)$", line)
            if m:
                data = bytes.fromhex(m.group(1))
                path = os.path.join(corpus, hashlib.sha256(data).hexdigest()[:16])
                if not os.path.exists(path):
                    with open(path, "wb") as out:
                        out.write(data)
                    new += 1
                continue
            m = re.search(r"fuzz-growth: t=(\d+) blocks=(\d+)", line)
            if m and suite:
                series.setdefault(suite, {})[int(m.group(1))] = int(m.group(2))
    names = sorted(series)
    times = sorted(set(t for s in series.values() for t in s))
    rows = ["%8s" % "seconds" + "".join("  %14s" % n for n in names)]
    for t in times:
        rows.append("%8d" % t + "".join("  %14s" % series[n].get(t, "") for n in names))
    with open(growth, "w") as out:
        out.write("basic blocks of fencebuf reached (fuzzer workers' own tasks)\n")
        out.write("\n".join(rows) + "\n")
    print("\n".join(rows))
    print("corpus: %d new entries, %d in %s" % (new, len(os.listdir(corpus)), corpus))


if __name__ == "__main__":
    main()
