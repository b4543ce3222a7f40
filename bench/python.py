#!/usr/bin/python3
"""What Python frames cost: an allocation-heavy Python program under memtrace.

bench/workloads/py_alloc.py runs alone, under `memtrace`, under `memtrace --folded`
with and without Python frames (--no-python-frames), and under `mprof run`
(memory_profiler's timeline, sampling every 0.1 s), alternating (A B ..., then
... B A) so drift on a shared machine hits all alike. The workload times itself
(elapsed_s on stderr): the slowdown is the program's, without start-up. Two more
traced runs with kernel.bpf_stats_enabled=1 give the kernel time spent in
memtrace's BPF programs with and without Python frames: the steady measure where
wall-time ratios drown in a VM's noise. Writes build/bench/python.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import MEMTRACE, ROOT, BUILD, elapsed_of, set_bpf_stats, write_markdown  # noqa: E402

PYTHON = "/usr/bin/python3"
WORKLOAD = os.path.join(ROOT, "bench/workloads/py_alloc.py")
MPROF = "/usr/bin/python3-mprof"

CONFIGS = [
    ("alone", None),
    ("memtrace", []),
    ("--folded --no-python-frames", ["--folded", "/tmp/memtrace-bench-py.folded", "--no-python-frames"]),
    ("--folded", ["--folded", "/tmp/memtrace-bench-py.folded"]),
    ("mprof run", "mprof"),
]


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def run_config(options, workload, json_path, tmp):
    if options is None:
        return elapsed_of(run(workload).stderr), None
    if options == "mprof":
        out = os.path.join(tmp, "mprof.dat")
        return elapsed_of(run([MPROF, "run", "--output", out] + workload).stderr), None
    r = run([MEMTRACE, "-q", "-o", "/dev/null", "--json", json_path] + options + ["--"] + workload)
    with open(json_path) as f:
        return elapsed_of(r.stderr), json.load(f)


def bpf_time(options, workload, json_path, tmp):
    set_bpf_stats(True)
    try:
        _, report = run_config(options, workload, json_path, tmp)
    finally:
        set_bpf_stats(False)
    return report


def table(rounds, times, reports, stats, workload):
    plain = times["alone"]
    lines = [
        "## Python frames: cost on an allocation-heavy Python program",
        "",
        f"`bench/python.py`: {rounds} alternating rounds, medians (per-round range). The workload",
        "times itself, so this is the program's slowdown, not memtrace's start-up.",
        "",
        "| | " + " | ".join(label for label, _ in CONFIGS) + " |",
        "| --- | " + " | ".join("---:" for _ in CONFIGS) + " |",
    ]
    cells = []
    for label, _ in CONFIGS:
        ratios = [t / p for t, p in zip(times[label], plain)]
        cells.append(f"{statistics.median(times[label]):.3f} s, **{statistics.median(times[label]) / statistics.median(plain):.3f}x** "
                     f"({min(ratios):.2f}-{max(ratios):.2f})")
    lines.append("| py_alloc | " + " | ".join(cells) + " |")
    with_py = statistics.median(times["--folded"]) / statistics.median(times["--folded --no-python-frames"])
    lines += [
        "",
        f"Python frames against the same stacks without them: **{with_py:.3f}x** (goal ≤ 1.10x).",
        "",
        "Kernel time in memtrace's BPF programs (one more run each, `kernel.bpf_stats_enabled=1`):",
        "",
        "| | program runs | time in BPF | stacks sampled | stacks with Python frames |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, report in stats:
        cost, st = report["memtrace"], report["stacks"]
        lines.append(f"| {label} | {cost['bpf_run_count']:,} | {cost['bpf_run_time_ns'] / 1e6:.1f} ms | "
                     f"{st['samples']:,} | {st['python']['samples']:,} |")
    argv = " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in workload)
    lines += ["", f"Workload: `{argv}` (bench/workloads/py_alloc.py: 300,000 dicts with a string and a",
              "list each, indexed by name, dropped, per round; 8 Python frames deep).", ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one workload round, 2 rounds (a sanity check)")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 5, quick 2)")
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/python.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    rounds = args.rounds or (2 if args.quick else 5)
    workload = [PYTHON, WORKLOAD, "1" if args.quick else "4"]
    tmp = tempfile.mkdtemp(prefix="memtrace-bench-py-")
    json_path = os.path.join(tmp, "report.json")
    set_bpf_stats(False)
    run(workload)  # warm-up
    times = {label: [] for label, _ in CONFIGS}
    for i in range(rounds):
        order = CONFIGS if i % 2 == 0 else list(reversed(CONFIGS))
        for label, options in order:
            times[label].append(run_config(options, workload, json_path, tmp)[0])
        print(f"round {i + 1}/{rounds}: " + ", ".join(f"{label} {times[label][-1]:.3f} s" for label, _ in CONFIGS),
              file=sys.stderr)
    stats = [(label, bpf_time(dict(CONFIGS)[label], workload, json_path, tmp))
             for label in ("--folded --no-python-frames", "--folded")]
    lines = table(rounds, times, None, stats, workload)
    write_markdown(lines, args.output)


if __name__ == "__main__":
    main()
