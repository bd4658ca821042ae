#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a `make bench` run: medians, ratios, targets, plots.

Reads the @@bench lines of the guest's results log (selftests/fencebuf_bench.c)
and writes, in OUTDIR:
  results.json   every measurement, medians and ratios
  results.txt    the table printed at the end (also on stdout)

Ratios are speed ratios, so that more is better for fencebuf: rate over rate,
or the reference's cost over fencebuf's cost. Each is the median of the
per-repetition ratios (both implementations measured back to back in each
repetition), which cancels the drift of an emulated machine's speed better
than a ratio of medians.

Usage: bench-report.py RESULTS_LOG OUTDIR
       bench-report.py --runs [--counted COUNT_JSON] RESULTS_JSON...
The second form puts several runs' results.json side by side: each row's
speed in every run and their median (timed ratios move by up to 10% from
run to run; a claim about a row rests on the median of several runs). With
the counted run's count.json (scripts/report/count-report.py), each row
below 1.0x is followed by where the counted run finds the same operation's
difference, cost by cost.
"""

import collections
import json
import os
import re
import statistics
import sys

RATES = {"ops/s", "MB/s"}
LABELS = {
    "cycle_1t": "create + signal + wait, 1 thread",
    "cycle_2t": "create + signal + wait, producer/consumer",
    "cycle_2t_timed": "the same, each wait timed (+2 clock reads)",
    "cycle_2t_waits_slept": "  timed waits that slept",
    "create_fence": "CREATE_FENCE",
    "merge": "SYNC_IOC_MERGE",
    "wakeup_latency": "INC to poll() wake-up, one vCPU (median)",
    "slab_per_pending_fence": "slab per pending fence (+ sync_file, file)",
    "create_nth_pending": "CREATE_FENCE with n pending",
    "inc_per_signalled_fence": "INC signalling n fences, per fence (net)",
    "export_close": "EXPORT + close",
    "attach_map": "importer attach + map + unmap + detach",
    "first_touch_fault": "first-touch fault per 4 KiB page",
    "read_bw": "sequential read through mmap",
    "write_bw": "sequential write through mmap",
    "revoke": "revoke, n buffers attached + mapped",
    "restore": "restore, n buffers attached",
    "revoke_cpu": "revoke, n buffers CPU-mapped",
    "restore_cpu": "restore, n buffers CPU-mapped",
    "revoke_bare": "revoke, n buffers exported only",
    "restore_bare": "restore, n buffers exported only",
}
# The counted operation (count-report.py) of each timed row, if any.
COUNTED = {
    "cycle_1t": "cycle",
    "create_fence": "create_pending",
    "merge": "merge",
    "wakeup_latency": "wakeup",
    "create_nth_pending": "create_pending",
    "inc_per_signalled_fence": "inc_signal",
    "export_close": "export_close",
    "attach_map": "attach_map",
    "first_touch_fault": "first_touch",
    "revoke": "revoke",
    "restore": "restore",
    "revoke_cpu": "revoke_cpu",
    "restore_cpu": "restore_cpu",
    "revoke_bare": "revoke_bare",
    "restore_bare": "restore_bare",
}
# The counted operation of a revoke or restore with no buffer: its fixed
# cost, under the rows of few buffers.
FIXED = {"revoke": "revoke_none", "revoke_cpu": "revoke_none", "revoke_bare": "revoke_none",
         "restore": "restore_none", "restore_cpu": "restore_none",
         "restore_bare": "restore_none"}
# Below this many buffers, a revoke's or restore's time is mostly not its
# kernel code (fixed_cost()).
FEW = 1000
SECTIONS = (
    ("timeline: reference = the kernel's C sw_sync, same boot", "c"),
    ("exporter: reference = VFIO's dma-buf export (vfio-pci), same boot", "vfio"),
    ("exporter: reference = direct mmap of resource2_wc", "direct"),
)


def load(path):
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^@@bench (\{.*\})\s*$", line.strip("\r\n"))
            if m:
                rows.append(json.loads(m.group(1)))
    return rows


def speed(unit, ours, ref):
    if not ours or not ref:
        return None
    return ours / ref if unit in RATES else ref / ours


def times(r):
    """A speed as "0.99x": three decimals where two would round a speed
    below 1.0 up to "1.00x", beside a target that says it is not met."""
    return f"{r:.3f}x" if r < 1.0 and f"{r:.2f}" == "1.00" else f"{r:.2f}x"


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def per_added_buffer(name, values):
    """Each side's time per buffer added from the second-largest n to the
    largest, in each run, and its median over the runs: (n1, n2, fencebuf,
    reference), or None."""
    ns = sorted({param for run in values for (n, param) in run if n == name})
    if len(ns) < 2:
        return None
    n1, n2 = ns[-2:]
    slopes = {"fencebuf": [], "reference": []}
    for run in values:
        if (name, n1) in run and (name, n2) in run:
            for side in slopes:
                slopes[side].append((run[(name, n2)][side] - run[(name, n1)][side]) / (n2 - n1))
    if not slopes["fencebuf"]:
        return None
    return n1, n2, statistics.median(slopes["fencebuf"]), statistics.median(slopes["reference"])


def fixed_cost(name, n, values, counted):
    """For a revoke or restore of few buffers: the guest kernel code the
    counted run found for it (the no-buffer operation plus n times the
    per-buffer one), each side's, in microseconds at the rate the same
    operation runs per added buffer at the largest n, against the time
    measured. What that code does not take, the vCPU spent outside the
    guest kernel: in the emulator. Lines, or [] without the figures."""
    slope = per_added_buffer(name, values)
    fixed, per = counted.get(FIXED.get(name)), counted.get(COUNTED.get(name))
    timed = {side: [run[(name, n)][side] for run in values if (name, n) in run]
             for side in ("fencebuf", "reference")}
    if not slope or not fixed or not per or not timed["fencebuf"] or not timed["reference"]:
        return []
    lines = []
    for side, key, label, slope_us in (("fencebuf", "fencebuf", "fencebuf", slope[2]),
                                       ("reference", "ref", "VFIO", slope[3])):
        f, b = fixed["insns"][key], per["insns"][key]
        took = statistics.median(timed[side])
        if slope_us <= 0:
            return []
        rate = b / slope_us
        code = (f + n * b) / rate
        lines.append(f"      {label}: {f:,.0f} + {n} x {b:,.0f} instructions, about "
                     f"{code:,.1f} us (at {rate:,.0f} per us); measured {took:,.0f} us: "
                     f"{100 * (1 - code / took):.1f}% outside the guest kernel")
    return [f"    n={n}: the kernel code counted for it (the no-buffer operation + n x per "
            "buffer), in time at the rate the side runs it per added buffer, against the "
            "time measured (medians of the runs):"] + lines


def breakdown(values, counted):
    """Revoke's time per added buffer by what the buffers hold: exported
    only, then what an importer's attachment and a CPU mapping add to that;
    with the counted run, the instructions per buffer each side executes,
    and how many it executes per microsecond: a side slowed by more than
    its instructions (by the memory it touches, say) runs fewer."""
    got = {name: per_added_buffer(name, values)
           for name in ("revoke_bare", "revoke", "revoke_cpu")}
    if not all(got.values()):
        return []
    n1, n2 = got["revoke_bare"][:2]
    _, _, bare_fb, bare_ref = got["revoke_bare"]
    head = f"{'':<44}{'fencebuf':>10}{'VFIO':>10}{'speed':>8}"
    if counted:
        head += f"{'insns: fencebuf':>17}{'VFIO':>7}{'per us: fencebuf':>18}{'VFIO':>7}"
    lines = ["", f"revoke: time per buffer added from n={n1} to n={n2} (us, medians of the runs), "
             "by what the buffers hold" + ("; the counted run's instructions per buffer, and "
                                           "those over the time" if counted else ""),
             head, "-" * len(head)]

    def row(label, fb, ref, op=None):
        sp = f"{ref / fb:.2f}x" if fb > 0 and ref > 0 else "-"
        line = f"{label:<44}{fb:>10.2f}{ref:>10.2f}{sp:>8}"
        if op in counted and fb > 0 and ref > 0:
            i = counted[op]["insns"]
            line += f"{i['fencebuf']:>17,.0f}{i['ref']:>7,.0f}" \
                    f"{i['fencebuf'] / fb:>18,.0f}{i['ref'] / ref:>7,.0f}"
        lines.append(line)
    row("exported only", bare_fb, bare_ref, COUNTED["revoke_bare"])
    for name, what in (("revoke", "attached + mapped by an importer"),
                       ("revoke_cpu", "CPU-mapped")):
        _, _, fb, ref = got[name]
        row(what, fb, ref, COUNTED[name])
        row("  of which the " + ("attachment" if name == "revoke" else "CPU mapping"),
            fb - bare_fb, ref - bare_ref)
    return lines


def runs(paths):
    """Print every row's speed in each run of `paths`, the median, and the
    timed targets judged on the medians; with --counted, what the counted run
    finds for each row below 1.0x."""
    counted = {}
    if paths[:1] == ["--counted"]:
        with open(paths[1]) as f:
            counted = {r["op"]: r for r in json.load(f)}
        paths = paths[2:]
    per_run, units, values = [], {}, []
    for path in paths:
        with open(path) as f:
            summary = json.load(f)["summary"]
        per_run.append({(r["name"], r["param"], r["reference"]): r["speed"] for r in summary})
        units.update({(r["name"], r["param"], r["reference"]): r["unit"] for r in summary})
        values.append({(r["name"], r["param"]): {"fencebuf": r["fencebuf"],
                                                  "reference": r["reference_value"]}
                       for r in summary if r["reference"] == "vfio"})
    order = {k: i for i, k in enumerate(LABELS)}
    keys = sorted(set().union(*per_run), key=lambda k: (order.get(k[0], 99), k[1]))
    head = f"{'measurement':<46} {'n':>7} " + "".join(f"{'run ' + str(i + 1):>8}"
                                                  for i in range(len(paths))) + f"{'median':>8}"
    lines = [f"speed (fencebuf vs reference, >1: fencebuf faster) in {len(paths)} runs, "
             "each the median of its interleaved repetitions; the last column is their median"]
    medians = {}
    for section, ref in SECTIONS:
        lines += ["", section, head, "-" * len(head)]
        for name, param, r in (k for k in keys if k[2] == ref):
            got = [run.get((name, param, r)) for run in per_run]
            vals = [v for v in got if v]
            cells = "".join(f"{('%.2fx' % v) if v else '-':>8}" for v in got)
            if vals:
                medians[(name, param, r)] = statistics.median(vals)
            mid = f"{medians[(name, param, r)]:.2f}x" if vals else "-"
            lines.append(f"{LABELS.get(name, name):<46} {param if param else '':>7} {cells}{mid:>8}")

    lines += ["", "targets, on the medians"]
    for ref, target in (("c", "fencebuf >= 1.0x C on every compatible operation"),
                        ("vfio", "fencebuf >= 1.0x VFIO on every exporter row")):
        # The share of waits that slept explains a number, it is not one.
        rows = {k: v for k, v in medians.items() if k[2] == ref and units.get(k) != "%"}
        if not rows:
            continue
        low = min(rows, key=rows.get)
        below = sum(1 for v in rows.values() if v < 1.0)
        lines.append(f"  {target}: {'met' if not below else 'NOT met'} "
                     f"({below} of {len(rows)} rows below 1.0x; lowest {times(rows[low])}: "
                     f"{LABELS.get(low[0], low[0])}{' n=' + str(low[1]) if low[1] else ''})")

    # Each row below 1.0x: its speed in every run (a row above 1.0x in some
    # run is within the runs' spread), and the counted run's accounting of
    # the same operation.
    below = collections.defaultdict(list)
    for k, v in medians.items():
        if v < 1.0 and units.get(k) != "%" and k[2] != "direct":
            below[k[0]].append(k)
    if below:
        lines += ["", "rows below 1.0x on the medians: each run's speed, and what the counted "
                  "run finds for the same operation (instructions per operation; "
                  "counted.txt's breakdown)"]
    for name in sorted(below, key=lambda n: list(LABELS).index(n) if n in LABELS else 99):
        lines.append(f"  {LABELS.get(name, name)}")
        for k in sorted(below[name], key=lambda k: k[1]):
            got = [run[k] for run in per_run if run.get(k)]
            above = sum(1 for v in got if v >= 1.0)
            lines.append(f"    {'n=' + str(k[1]) + ': ' if k[1] else ''}{times(medians[k])} "
                         f"(runs: {', '.join(times(v) for v in got)})"
                         + (f": at or above 1.0x in {above} of {len(got)} runs" if above else ""))
        for k in sorted(below[name], key=lambda k: k[1]):
            if name in FIXED and k[1] and k[1] < FEW:
                lines += fixed_cost(name, k[1], values, counted)
        slope = per_added_buffer(name, values) if name.startswith(("revoke", "restore")) else None
        if slope and slope[0] is not None:
            n1, n2, fb, ref = slope
            lines.append(f"    per buffer added from n={n1} to n={n2}: fencebuf {fb:.2f} us, "
                         f"VFIO {ref:.2f} us ({ref / fb:.2f}x; medians of the runs)")
        if COUNTED.get(name) in counted:
            lines += ["      " + line for line in counted[COUNTED[name]]["explanation"]]
        elif counted:
            lines.append("      (no counted operation)")
    lines += breakdown(values, counted)
    print("\n".join(lines))
    return 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--runs":
        return runs(sys.argv[2:])
    log, outdir = sys.argv[1], sys.argv[2]
    rows = load(log)
    if not rows:
        print("bench-report: no @@bench lines in " + log, file=sys.stderr)
        return 1
    groups = {}
    for r in rows:
        groups.setdefault((r["name"], r["param"], r["impl"]), []).append(r)
    med = {k: statistics.median(x["value"] for x in v) for k, v in groups.items()}
    by_rep = {k: {x["rep"]: x["value"] for x in v} for k, v in groups.items()}
    unit = {k[:2]: v[0]["unit"] for k, v in groups.items()}
    reps = max(r["rep"] for r in rows) + 1

    lines, results = [], []
    head = f"{'measurement':<46} {'n':>7} {'unit':>6} {'reference':>12} {'fencebuf':>12} {'speed':>7}"
    lines.append(f"fencebuf benchmark: medians of {reps} interleaved repetitions; speed = fencebuf vs reference (>1: fencebuf faster)")
    order = {k: i for i, k in enumerate(LABELS)}
    keys = sorted({k[:2] for k in med if k[2] == "fencebuf"},
                  key=lambda k: (order.get(k[0], 99), k[1]))
    for section, ref in SECTIONS:
        lines += ["", section, head, "-" * len(head)]
        for name, param in keys:
            if (name, param, ref) not in med:
                continue
            u = unit[(name, param)]
            ours, theirs = med[(name, param, "fencebuf")], med[(name, param, ref)]
            a, b = by_rep[(name, param, "fencebuf")], by_rep[(name, param, ref)]
            paired = [speed(u, a[r], b[r]) for r in a if r in b]
            s = statistics.median(x for x in paired if x) if any(paired) else None
            lines.append(f"{LABELS.get(name, name):<46} {param if param else '':>7} {u:>6} "
                         f"{fmt(theirs):>12} {fmt(ours):>12} {('%.2fx' % s) if s else '-':>7}")
            results.append({"name": name, "param": param, "unit": u, "fencebuf": ours,
                            "reference": ref, "reference_value": theirs, "speed": s})

    # Targets of the benchmark issue.
    lines += ["", "targets"]
    def lowest(rows, target):
        """A target met if no row is below 1.0x; names the lowest row."""
        rows = [r for r in rows if r["speed"]]
        if rows:
            w = min(rows, key=lambda r: r["speed"])
            lines.append(f"  {target}: {'met' if w['speed'] >= 1.0 else 'NOT met'} "
                         f"(lowest {times(w['speed'])}: {LABELS.get(w['name'], w['name'])}"
                         f"{' n=' + str(w['param']) if w['param'] else ''})")

    # Every timed operation of both; the share of waits that slept explains
    # a number, it is not one.
    lowest([r for r in results if r["reference"] == "c" and r["unit"] != "%"],
           "fencebuf >= 1.0x C on every compatible operation")
    per = {k[1]: v for k, v in med.items() if k[0] == "inc_per_signalled_fence" and k[2] == "fencebuf"}
    if per:
        spread = max(per.values()) / min(per.values())
        lines.append(f"  cost per signalled fence flat within 1.5x over n = "
                     f"{min(per)}..{max(per)}: {'met' if spread <= 1.5 else 'NOT met'} ({spread:.2f}x)")
    lowest([r for r in results if r["reference"] == "vfio"],
           "fencebuf >= 1.0x VFIO on every exporter row")
    bw = [r for r in results if r["reference"] == "direct"]
    for r in bw:
        lines.append(f"  mmap {r['name'][:-3]} bandwidth >= 0.95x direct: "
                     f"{'met' if r['speed'] >= 0.95 else 'NOT met'} ({r['speed']:.2f}x)")
    for name in ("revoke", "revoke_cpu", "revoke_bare"):
        for impl in ("fencebuf", "vfio"):
            rev = sorted((k[1], v) for k, v in med.items() if k[0] == name and k[2] == impl)
            if len(rev) < 3:
                continue
            # Linear: each added buffer costs the same, whatever the count.
            steps = [((n1, n2), (v2 - v1) / (n2 - n1))
                     for (n1, v1), (n2, v2) in zip(rev, rev[1:])]
            big = [s for (n1, _), s in steps if n1 >= 100]
            ok = len(big) >= 2 and max(big) <= 1.5 * min(big)
            lines.append(f"  {LABELS[name]}: {impl} linear in n: " + ("met" if ok else "NOT met") +
                         " (us per added buffer: " +
                         ", ".join(f"{n1}->{n2}: {s:.2f}" for (n1, n2), s in steps) + ")")

    text = "\n".join(lines) + "\n"
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "results.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"repetitions": reps, "summary": results, "measurements": rows}, f, indent=1)
    print(text, end="")
    print(f"results: {outdir}/results.txt, results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
