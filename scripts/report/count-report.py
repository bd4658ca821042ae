#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the counted run of `make bench`: guest kernel code per operation.

Reads the plugin's counts (qemu/tb-count-plugin.c), the guest's @@count lines
(selftests/fencebuf_count.c), the perf kernel's System.map and fencebuf.ko;
writes OUTDIR/count.txt and count.json and prints the table: instructions
and translation blocks each implementation executed in the kernel per
operation, their ratio (reference / fencebuf: >1, fencebuf executes less),
and the functions where the two differ most. The reference is the kernel's
C sw_sync for timeline operations and VFIO's exporter for exporter ones.

Usage: count-report.py COUNTS RESULTS_LOG SYSTEM_MAP MODULE_KO OUTDIR
       count-report.py --compare BEFORE.json AFTER.json
       count-report.py --smoke COUNTS RESULTS_LOG
       count-report.py --costs COUNT_JSON PATCH_DIR COSTS_DIR
The second form compares two runs' count.json (two builds of fencebuf, say):
fencebuf's instructions per operation before and after, and per operation
the functions whose instructions changed most. The third checks make
check's short counted run: every operation was counted on both
implementations, every interval executed kernel code, and the plugin kept
up; it fails otherwise. The fourth says what each safety property costs
(scripts/test/bench-costs.sh): COUNT_JSON is this build's count.json,
PATCH_DIR/NAME.patch takes one property out, and COSTS_DIR/NAME/count.json
(and COSTS_DIR/all/count.json, all of them out) is the count of that build.
"""

import bisect
import collections
import functools
import json
import os
import re
import subprocess
import sys

OPS = {
    "create_pending": "CREATE_FENCE, fences left pending",
    "inc_empty": "INC that signals nothing",
    "inc_signal": "INC signalling n fences, per fence",
    "close_signalled": "close of a signalled fence",
    "cycle": "create + signal + wait, 1 thread",
    "merge": "SYNC_IOC_MERGE + close",
    "wakeup": "INC to poll() returning in a woken thread",
    "export_close": "EXPORT + close",
    "attach_map": "attach + map + unmap + detach",
    "first_touch": "first touch of a mapped page",
    "revoke_none": "revoke of no buffer",
    "restore_none": "restore of no buffer",
    "revoke": "revoke, per attached buffer",
    "restore": "restore, per attached buffer",
    "revoke_cpu": "revoke, per CPU-mapped buffer",
    "restore_cpu": "restore, per CPU-mapped buffer",
    "revoke_bare": "revoke, per exported-only buffer",
    "restore_bare": "restore, per exported-only buffer",
}
# Timeline operations whose intervals end without the settling sleep.
UNSETTLED = {"wakeup"}
# Each operation's reference implementation.
EXPORTER_OPS = {"export_close", "attach_map", "first_touch", "revoke_none", "restore_none",
                "revoke", "restore", "revoke_cpu", "restore_cpu", "revoke_bare", "restore_bare"}
REFERENCE = {op: "vfio" if op in EXPORTER_OPS else "c" for op in OPS}
SHOWN = 8
# What fencebuf's exporter does that VFIO's does not, by the kernel
# functions that do it, each side's (benchmarks.rst, "Where the differences
# come from").
LEAK = "the scatterlist VFIO leaks"
LEAK_LOCK = LEAK + ": the slab's list lock that its free takes"
ZAP = ("a zap per buffer: a CPU mapping is in its buffer's own file, which it keeps alive; "
       "VFIO's are all in its device's file")
EXPORTER_COSTS = [
    # VFIO's sg_free_table() runs too, but finds no entries to free.
    (LEAK, ("kfree", "slab_free", "free_to_partial_list", "free_to_pcs", "sg_free_table")),
    # The slab node's list lock, which free_to_partial_list() takes for the
    # scatterlist: where VFIO runs no lock of this kind of its own.
    (LEAK_LOCK, ("_raw_spin_lock_irqsave", "_raw_spin_unlock_irqrestore")),
    ("the dentry pin, where VFIO takes a file reference that may be freed",
     ("lockref_get_not_dead", "fast_dput", "lockref_put_return", "dput",
      "get_file_active", "__get_file_rcu", "fput")),
    ("the access gate's lock, in revoke (a fault checks the revoke under it), and in map "
     "the BAR provider's slot lock (unbind frees the provider)",
     ("mutex_lock", "mutex_unlock")),
    (ZAP, ("unmap_mapping_range", "unmap_mapping_pages", "unmap_mapping_range_tree",
           "mapping_rmap_tree_iter_first", "mapping_rmap_tree_iter_next", "down_read", "up_read")),
]
# A cost that only some operations have: elsewhere its functions do other
# things (VFIO's fault takes its memory_lock with down_read()).
ONLY_IN = {ZAP: {"revoke", "revoke_cpu", "revoke_bare"}, LEAK_LOCK: {"attach_map"}}
# What fencebuf's timeline does that sw_sync's does not, likewise.
TIMELINE_COSTS = [
    ("each fence's own lock, taken inside the timeline's, where sw_sync's fences share "
     "the timeline's",
     ("_raw_spin_lock", "_raw_spin_unlock", "_raw_spin_lock_irq", "_raw_spin_unlock_irq",
      "_raw_spin_lock_irqsave", "_raw_spin_unlock_irqrestore")),
]
COSTS = {"vfio": EXPORTER_COSTS, "c": TIMELINE_COSTS}


def times(r):
    """A ratio as "0.99x": three decimals where two would round a ratio
    below 1.0 up to "1.00x", beside a target that says it is not met."""
    return f"{r:.3f}x" if r < 1.0 and f"{r:.2f}" == "1.00" else f"{r:.2f}x"


def short(fn):
    """A Rust symbol without its module paths: <TimelineFile as NodeFile>::ioctl."""
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*::)+(?=[A-Z])", "", fn)


@functools.cache
def demangled(fn):
    """A kernel crate function's name from System.map (Rust's v0 mangling,
    "_R..."), as the module's names are, without crate hashes."""
    if not fn.startswith("_R"):
        return fn
    out = subprocess.run(["c++filt", "-s", "rust", fn], capture_output=True, text=True)
    name = out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else fn
    return re.sub(r"\[[0-9a-f]+\]", "", name)


def terse(fn):
    """short(), without generic arguments that are plain type names:
    <Callbacks>::map_dma_buf."""
    fn = short(demangled(fn)).removeprefix("fencebuf: ")
    while True:
        t = re.sub(r"(?<=[A-Za-z])<[A-Za-z_0-9, ]+>", "", fn)
        if t == fn:
            return t
        fn = t


def symbols(system_map, module_ko, module_base):
    """Sorted (address, name) of the kernel's and the module's functions."""
    syms = []
    with open(system_map) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                syms.append((int(addr, 16), name))
    if module_base is not None:
        out = subprocess.run(["nm", "--defined-only", "--demangle=rust", module_ko],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split(" ", 2)
            # The module's .text comes first in its text area.
            if len(parts) == 3 and parts[1] in "tT":
                syms.append((module_base + int(parts[0], 16), "fencebuf: " + parts[2]))
        # Past fencebuf's .text: other modules (the sample importer, VFIO),
        # which would otherwise count as fencebuf's last function.
        heads = subprocess.run(["objdump", "-h", module_ko], capture_output=True, text=True,
                               check=True).stdout
        for line in heads.splitlines():
            f = line.split()
            if len(f) > 2 and f[1] == ".text":
                syms.append((module_base + int(f[2], 16), "(past fencebuf's .text)"))
    syms.sort()
    return syms


def own_functions(ref, fb, skip=()):
    """Each side's own code, per operation, by function: the functions only
    it runs (fencebuf's module, the C sw_sync, VFIO's exporter, and the
    kernel functions only one of them calls), but those in `skip`; the rest
    is the code both share (system calls, files, the slab allocator, ...)."""
    own = {"ref": {}, "fencebuf": {}}
    for fn in (set(ref) | set(fb)) - set(skip):
        r_, f_ = ref.get(fn, 0.0), fb.get(fn, 0.0)
        if r_ > 0.5 and f_ < 0.5:
            own["ref"][fn] = r_
        elif f_ > 0.5 and r_ < 0.5:
            own["fencebuf"][fn] = f_
    return own


def own_code(ref, fb, skip=()):
    """Each side's own code, per operation, in all (own_functions())."""
    return {side: sum(fns.values()) for side, fns in own_functions(ref, fb, skip).items()}


def accounting(op, ref_fns, fb_fns, n):
    """Where fencebuf's instructions per operation differ from the
    reference's: what each of the reference's COSTS adds; then the own code
    of each side outside those costs, by function, and the code both run.
    The parts add up to the difference."""
    ref = {fn: v / n for fn, v in ref_fns.items()}
    fb = {fn: v / n for fn, v in fb_fns.items()}
    costs, grouped = {}, set()
    for what, fns in COSTS[REFERENCE[op]]:
        if op not in ONLY_IN.get(what, {op}):
            continue
        costs[what] = sum(fb.get(fn, 0.0) - ref.get(fn, 0.0) for fn in fns)
        grouped.update(fns)
    by_fn = own_functions(ref, fb, grouped)
    own = {side: sum(fns.values()) for side, fns in by_fn.items()}
    diff = sum(fb.values()) - sum(ref.values())
    shared = diff - sum(costs.values()) - (own["fencebuf"] - own["ref"])
    return {"difference": diff, "costs": costs, "own": own, "own_by_function": by_fn,
            "shared": shared}


def explain(row, indent):
    """The lines that say where a row's difference goes."""
    a, insns = row["accounting"], row["insns"]
    ratio = insns["ref"] / insns["fencebuf"]
    leak = max(sum(d for what, d in a["costs"].items() if what.startswith(LEAK)), 0.0)
    head = f"{indent}{row['label']}: {times(ratio)} ({insns['fencebuf']:,.0f} against " \
           f"{insns['ref']:,.0f} instructions)"
    if leak >= 1:
        head += f"; net of {LEAK} ({leak:,.0f}): " \
                f"{insns['ref'] / (insns['fencebuf'] - leak):.2f}x"
    lines = [head]
    for what, d in a["costs"].items():
        if not what.startswith(LEAK) and abs(d) >= 1:
            lines.append(f"{indent}  {d:>+7,.0f}  {what}")
    o = a["own"]
    # Own code outside the costs above: the table's own column, less the
    # costs' functions that only one side ran.
    lines.append(f"{indent}  {o['fencebuf'] - o['ref']:>+7,.0f}  own code"
                 f"{' outside those' if len(lines) > 1 else ''}: "
                 f"{o['fencebuf']:,.0f} against {o['ref']:,.0f}")
    # Each side's own functions, largest first: what the own code does.
    # Below 2 instructions per operation, a function is an interrupt's or
    # the scheduler's that ran in one side's interval only.
    for side, name in (("fencebuf", "fencebuf"), ("ref", row["reference"])):
        fns = sorted(((terse(fn), v) for fn, v in a["own_by_function"][side].items()
                      if v >= 2), key=lambda kv: -kv[1])
        lines.append(f"{indent}{'':11}{name}: " +
                     (", ".join(f"{fn} {v:,.0f}" for fn, v in fns) or "none"))
    lines.append(f"{indent}  {a['shared']:>+7,.0f}  code both run")
    return lines


def load_rows(path):
    """A count.json's rows, by operation."""
    with open(path) as f:
        return {r["op"]: r for r in json.load(f)}


def compare(before_json, after_json):
    """Print fencebuf's instructions per operation in two runs, and the
    functions behind the change."""
    before, after = load_rows(before_json), load_rows(after_json)
    ops = [op for op in OPS if op in before and op in after]
    head = f"{'operation':<38}{'before':>9}{'after':>9}{'change':>8}" \
           f"{'ratio before':>14}{'after':>7}"
    lines = ["fencebuf's instructions per operation, two runs; ratio = reference / fencebuf",
             "", head, "-" * len(head)]
    for op in ops:
        b, a = before[op]["insns"], after[op]["insns"]
        lines.append(f"{OPS[op]:<38}{b['fencebuf']:>9,.0f}{a['fencebuf']:>9,.0f}"
                     f"{(a['fencebuf'] / b['fencebuf'] - 1) * 100:>+7.1f}%"
                     f"{b['ref'] / b['fencebuf']:>13.2f}x{a['ref'] / a['fencebuf']:>6.2f}x")
    lines += ["", "fencebuf's functions whose instructions per operation changed most",
              f"{'before':>10}{'after':>10}  function"]
    for op in ops:
        fb, fa = (before[op].get("insns_by_function"), after[op].get("insns_by_function"))
        if fb is None or fa is None:
            lines.append(f"  {OPS[op]}: no per-function instructions in one of the runs")
            continue
        change = {fn: (fb.get(fn, {}).get("fencebuf", 0.0), fa.get(fn, {}).get("fencebuf", 0.0))
                  for fn in set(fb) | set(fa)}
        lines.append(f"  {OPS[op]}")
        for fn, (x, y) in sorted(change.items(), key=lambda kv: -abs(kv[1][1] - kv[1][0]))[:SHOWN]:
            if abs(y - x) >= 0.5:
                lines.append(f"{x:>10.1f}{y:>10.1f}  {fn[:90]}")
    print("\n".join(lines))
    return 0


def costs(base_json, patch_dir, costs_dir):
    """Print what each property that a patch in patch_dir takes out costs,
    per operation the patch names: this build's instructions less those of
    the build without it; then what is left without all of them."""
    base = load_rows(base_json)
    names = sorted(f[:-len(".patch")] for f in os.listdir(patch_dir) if f.endswith(".patch"))
    about, problems = {}, []
    for name in names:
        head = {}
        with open(os.path.join(patch_dir, name + ".patch")) as f:
            for line in f:
                m = re.match(r"^# (cost|ops): *(.*)$", line)
                if not m:
                    break
                head[m.group(1)] = m.group(2).strip()
        ops = [op for op in head.get("ops", "").split(",") if op]
        if "cost" not in head or not ops or any(op not in OPS for op in ops):
            problems.append(f"{name}.patch: its first lines must be '# cost: what it takes out' "
                            f"and '# ops: a,b' of {', '.join(OPS)}")
            continue
        about[name] = (head["cost"], ops)
    runs = {}
    for name in list(about) + (["all"] if len(about) > 1 else []):
        path = os.path.join(costs_dir, name, "count.json")
        if os.path.exists(path):
            runs[name] = load_rows(path)
        else:
            problems.append(f"no count without {name}: {path}")
    for p in problems:
        print("count-report --costs: " + p, file=sys.stderr)
    if problems:
        return 1
    lines = ["", "what the safety properties cost, counted: fencebuf built without each "
             "(selftests/costs/NAME.patch) and counted as above; cost = this build's "
             "instructions per operation less that build's"]
    for op in OPS:
        names_op = [n for n in about if op in about[n][1]]
        if not names_op or op not in base:
            continue
        b = base[op]["insns"]
        lines.append(f"  {OPS[op]}: {b['fencebuf']:,.0f} against {base[op]['reference']}'s "
                     f"{b['ref']:,.0f} ({times(b['ref'] / b['fencebuf'])})")
        for name in names_op:
            d = b["fencebuf"] - runs[name][op]["insns"]["fencebuf"]
            lines.append(f"    {d:>+7,.0f}  {name}: {about[name][0]}")
        if "all" in runs and len(names_op) > 1:
            a = runs["all"][op]
            # Against the reference as counted in the same run.
            r = a["insns"]
            lines.append(f"    without all {len(names_op)}: {r['fencebuf']:,.0f} against "
                         f"{r['ref']:,.0f} ({times(r['ref'] / r['fencebuf'])}); where the rest "
                         f"of the difference ({r['fencebuf'] - r['ref']:+,.0f}) is:")
            lines += explain(a, "    ")[1:]
    print("\n".join(lines))
    return 0


def read_results(results):
    """The guest's intervals by number, and the module's load address."""
    intervals, module_base = {}, None
    with open(results, errors="replace") as f:
        for line in f:
            line = line.strip("\r\n")
            m = re.match(r"^@@count (\{.*\})\s*$", line)
            if m:
                d = json.loads(m.group(1))
                intervals[d["interval"]] = d
            m = re.match(r"^@@count-module (0x[0-9a-f]+)", line)
            if m:
                module_base = int(m.group(1), 16)
    return intervals, module_base


def read_counts(counts):
    """The plugin's lines as (interval, block address, instructions,
    executions); None for its note that it ran out of slots."""
    with open(counts) as f:
        for line in f:
            if line.startswith("#"):
                yield None
                continue
            interval, vaddr, n_insns, execs = line.split()
            yield int(interval), int(vaddr, 16), int(n_insns), int(execs)


def smoke(counts, results):
    intervals, _ = read_results(results)
    insns, truncated = collections.Counter(), False
    for row in read_counts(counts):
        if row is None:
            truncated = True
        else:
            insns[row[0]] += row[2] * row[3]
    problems = []
    if not intervals:
        problems.append("no @@count lines in " + results)
    counted = {(d["impl"], d["op"]) for d in intervals.values()}
    for op, ref in REFERENCE.items():
        for impl in (ref, "fencebuf"):
            if (impl, op) not in counted:
                problems.append(f"{op} was not counted on {impl}")
    empty = sorted(i for i in intervals if insns[i] <= 0)
    if empty:
        problems.append(f"{len(empty)} of {len(intervals)} intervals counted no kernel code "
                        f"(the first: {intervals[empty[0]]})")
    if truncated:
        problems.append("the plugin ran out of slots")
    for p in problems:
        print("count-smoke: " + p, file=sys.stderr)
    print(f"count-smoke: {len(intervals)} intervals, {sum(insns[i] for i in intervals):,} "
          f"kernel instructions counted{'' if not problems else ': FAILED'}")
    return 1 if problems else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--compare":
        return compare(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "--smoke":
        return smoke(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "--costs":
        return costs(argv[2], argv[3], argv[4])
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    counts, results, system_map, module_ko, outdir = argv[1:]
    intervals, module_base = read_results(results)
    if not intervals:
        print("count-report: no @@count lines in " + results, file=sys.stderr)
        return 1
    if not module_base:
        print("count-report: no module address (@@count-module): fencebuf's functions "
              "are not named", file=sys.stderr)
        module_base = None

    syms = symbols(system_map, module_ko, module_base)
    addrs = [a for a, _ in syms]

    def name(addr):
        i = bisect.bisect_right(addrs, addr) - 1
        return syms[i][1] if i >= 0 else "?"

    insns = collections.defaultdict(int)
    blocks = collections.defaultdict(int)
    by_fn = collections.defaultdict(collections.Counter)
    insns_by_fn = collections.defaultdict(collections.Counter)
    truncated = False
    for row in read_counts(counts):
        if row is None:
            truncated = True
            continue
        interval, vaddr, n_insns, execs = row
        if interval not in intervals:
            continue
        fn = name(vaddr)
        insns[interval] += n_insns * execs
        blocks[interval] += execs
        by_fn[interval][fn] += execs
        insns_by_fn[interval][fn] += n_insns * execs

    # Each timeline interval ends with the same sleep
    # (selftests/fencebuf_count.c), so that the operation's deferred frees
    # run inside it: take away what the sleep alone costs, measured in the
    # idle interval of the same implementation's turn.
    idle_of = {}
    for i in sorted(intervals):
        d = intervals[i]
        if d["op"] == "idle":
            idle_of[d["impl"]] = i
        elif REFERENCE.get(d["op"]) == "c" and d["op"] not in UNSETTLED and d["impl"] in idle_of:
            idle = idle_of[d["impl"]]
            insns[i] -= insns[idle]
            blocks[i] -= blocks[idle]
            by_fn[i].subtract(by_fn[idle])
            insns_by_fn[i].subtract(insns_by_fn[idle])

    # Each operation ran in several rounds (a wake-up many times a round):
    # take, for each implementation, the interval whose count is the
    # median, with its breakdown.
    rows = []
    for op, label in OPS.items():
        per = collections.defaultdict(list)
        for i, d in intervals.items():
            if d["op"] == op:
                per[d["impl"]].append((insns[i] / d["n"], i, d["n"]))
        ref = REFERENCE[op]
        if set(per) != {ref, "fencebuf"}:
            continue
        (_, ic, n), (_, ifb, _) = (sorted(per[impl])[(len(per[impl]) - 1) // 2]
                                   for impl in (ref, "fencebuf"))
        rounds = len({intervals[i]["round"] for _, i, _ in per["fencebuf"]})
        row = {"op": op, "label": label, "n": n, "rounds": rounds, "reference": ref,
               "insns": {"ref": insns[ic] / n, "fencebuf": insns[ifb] / n},
               "blocks": {"ref": blocks[ic] / n, "fencebuf": blocks[ifb] / n}}
        diff = collections.Counter()
        for fn in set(by_fn[ic]) | set(by_fn[ifb]):
            diff[fn] = (by_fn[ifb][fn] - by_fn[ic][fn]) / n
        row["own_insns"] = own_code({fn: v / n for fn, v in insns_by_fn[ic].items()},
                                    {fn: v / n for fn, v in insns_by_fn[ifb].items()})
        row["accounting"] = accounting(op, insns_by_fn[ic], insns_by_fn[ifb], n)
        # Where the difference goes, as the targets say it; bench-report.py
        # repeats it under the timed rows of the same operation.
        row["explanation"] = explain(row, "")
        row["blocks_by_function"] = {
            fn: {"ref": by_fn[ic][fn] / n, "fencebuf": by_fn[ifb][fn] / n}
            for fn, d in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:SHOWN * 4]}
        # Every function either ran, by instructions, for --compare.
        row["insns_by_function"] = {
            fn: {"ref": insns_by_fn[ic][fn] / n, "fencebuf": insns_by_fn[ifb][fn] / n}
            for fn in sorted(set(insns_by_fn[ic]) | set(insns_by_fn[ifb]))}
        rows.append(row)

    def ratio(d):
        return d["ref"] / d["fencebuf"] if d["fencebuf"] else float("nan")

    nrounds = max((r["rounds"] for r in rows), default=0)
    lines = ["guest kernel code executed per operation (counted under TCG), each side's median "
             f"of {nrounds} rounds; ratio = reference / fencebuf (>1: fencebuf executes less)",
             "each timeline interval but the wake-up's includes the operation's deferred frees, less an "
             "idle interval of the same settling sleep",
             "the wake-up: one interval per wake-up, from the INC to poll() returning, "
             "the median of each side's intervals (n = 1)"]
    head = f"{'operation':<42}{'n':>6}{'ref insns':>10}{'fencebuf':>10}{'ratio':>8}" \
           f"{'ref blks':>10}{'fencebuf':>10}{'ratio':>8}{'ref own':>9}{'fencebuf':>10}"
    for ref, title in (("c", "timeline: reference = the kernel's C sw_sync"),
                       ("vfio", "exporter: reference = VFIO's dma-buf export")):
        lines += ["", title, head, "-" * len(head)]
        for r in (r for r in rows if r["reference"] == ref):
            lines.append(f"{r['label']:<42}{r['n']:>6}{r['insns']['ref']:>10,.0f}"
                         f"{r['insns']['fencebuf']:>10,.0f}{times(ratio(r['insns'])):>8}"
                         f"{r['blocks']['ref']:>10,.0f}{r['blocks']['fencebuf']:>10,.0f}"
                         f"{times(ratio(r['blocks'])):>8}"
                         f"{r['own_insns']['ref']:>9,.0f}{r['own_insns']['fencebuf']:>10,.0f}")
    lines += ["", "own: instructions in functions only that side runs (its own code, and "
              "kernel code only it calls); the rest is code both run",
              "", "where the instructions differ most, per operation",
              f"{'ref':>10}{'fencebuf':>10}  function"]
    for r in rows:
        lines.append(f"  {r['label']} (reference: {r['reference']})")
        by = r["insns_by_function"]
        for fn in sorted(by, key=lambda f: -abs(by[f]["fencebuf"] - by[f]["ref"]))[:SHOWN]:
            v = by[fn]
            lines.append(f"{v['ref']:>10.1f}{v['fencebuf']:>10.1f}  {short(fn)[:90]}")
    # The targets of the counted benchmark (benchmarks.rst, "Targets").
    lines += ["", "targets"]
    for ref, what in (("c", "timeline"), ("vfio", "exporter")):
        rs = [r for r in rows if r["reference"] == ref]
        if rs:
            low = min(rs, key=lambda r: ratio(r["insns"]))
            lines.append(f"  every {what} row >= 1.0x: {'met' if ratio(low['insns']) >= 1.0 else 'NOT met'}"
                         f" (lowest {times(ratio(low['insns']))}: {low['label']})")
    # A row below 1.0x says what the difference pays for.
    for r in (r for r in rows if ratio(r["insns"]) < 1.0):
        lines += explain(r, "  ")
    cycle = next((r for r in rows if r["op"] == "cycle"), None)
    if cycle:
        o = cycle["own_insns"]
        lines.append(f"  the timeline's own code per 1-thread cycle <= the C sw_sync's: "
                     f"{'met' if o['fencebuf'] <= o['ref'] else 'NOT met'}"
                     f" ({o['fencebuf']:,.0f} against {o['ref']:,.0f} instructions)")
    if truncated:
        lines.append("note: the plugin ran out of slots; later translations were not counted")
    text = "\n".join(lines) + "\n"
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "count.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(outdir, "count.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
