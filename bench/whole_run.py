#!/usr/bin/python3
"""A ~3 s allocation-heavy program traced from fork to exit: memtrace's start-up,
tracing and exit together, against the program alone.

The program (bench/alloc_heavy, sized to run ~3 s alone) runs alone, under
`memtrace -- PROGRAM` and under `memtrace --folded FILE -- PROGRAM`, alternating
(A B C, then C B A, ...) so drift on a shared machine hits all alike; beside
them `perf stat -- PROGRAM`, a tool of the same kind. Wall time from fork to
exit of the outermost command. Each traced run is compared with the runs alone
next to it in the same round (paired ratios), and the ratio of the medians is
given too. Writes build/bench/whole_run.md (and prints it).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import MEMTRACE, ROOT, BUILD, write_markdown  # noqa: E402

PROGRAM = os.path.join(BUILD, "bench/alloc_heavy")


def commands(program, folded):
    return [
        ("alone", program),
        ("memtrace --", [MEMTRACE, "-q", "-o", "/dev/null", "--"] + program),
        ("memtrace --folded --", [MEMTRACE, "-q", "-o", "/dev/null", "--folded", folded, "--"] + program),
        ("perf stat --", ["perf", "stat", "-o", "/dev/null", "--"] + program),
    ]


def cpu_of_children():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def timed(argv, cpu=None):
    """Wall time from fork to exit; `cpu` (a list) gets the CPU time of every
    process of the run (memtrace, the program, the kernel's work in them)."""
    cpu_before = cpu_of_children()
    start = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({r.returncode}): {r.stderr[-2000:]}")
    if cpu is not None:
        cpu.append(cpu_of_children() - cpu_before)
    return elapsed


def sized_program(target_s):
    """alloc_heavy's rounds for ~target_s alone (one round measured)."""
    one = timed([PROGRAM, "1"])
    rounds = max(1, round(target_s / one))
    return [PROGRAM, str(rounds)], one * rounds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds of a ~1 s program (a sanity check)")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 9, quick 3)")
    ap.add_argument("--seconds", type=float, help="the program's time alone (default 3, quick 1)")
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/whole_run.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    if not os.path.exists(PROGRAM):
        sys.exit(f"bench: {PROGRAM} is missing: make {os.path.relpath(PROGRAM, ROOT)}")
    rounds = args.rounds or (3 if args.quick else 9)
    program, expected = sized_program(args.seconds or (1.0 if args.quick else 3.0))
    with tempfile.TemporaryDirectory(prefix="memtrace-bench-whole-") as tmp:
        cmds = commands(program, os.path.join(tmp, "out.folded"))
        for _, argv in cmds:
            timed(argv)  # warm-up: page cache
        times = {label: [] for label, _ in cmds}
        cpu = {label: [] for label, _ in cmds}
        for i in range(rounds):
            for label, argv in (cmds if i % 2 == 0 else list(reversed(cmds))):
                times[label].append(timed(argv, cpu[label]))
            print(f"round {i + 1}/{rounds}", file=sys.stderr)
    alone = times["alone"]
    lines = [
        "## A 3 s program traced from fork to exit",
        "",
        f"`bench/whole_run.py{' --quick' if args.quick else ''}`: `{' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in program)}`"
        f" (~{expected:.1f} s alone: builds and drops a 2M-entry unordered_map and 3M strings per round) run",
        f"alone and traced, {rounds} alternating rounds, wall time from fork to exit: memtrace's start-up,",
        "tracing and exit included. Paired ratio: each traced run over the run alone of the same round.",
        "CPU: user + system time of every process of the run (memtrace's and the program's, the BPF",
        "programs' run time counted in the program's), steadier than wall time on a shared VM.",
        "Goal (issue 15): ≤ 1.03x for `memtrace --`.",
        "",
        "| command | wall, median | range | ratio of medians | paired ratios, median (range) | CPU, median | CPU ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    alone_cpu = statistics.median(cpu["alone"])
    for label, _ in cmds:
        t = times[label]
        ratio = statistics.median(t) / statistics.median(alone)
        paired = [x / a for x, a in zip(t, alone)]
        c = statistics.median(cpu[label])
        lines.append(f"| `{label}` | {statistics.median(t):.3f} s | {min(t):.3f}-{max(t):.3f} s | "
                     f"{ratio:.3f}x | {statistics.median(paired):.3f}x ({min(paired):.3f}-{max(paired):.3f}) | "
                     f"{c:.3f} s | {c / alone_cpu:.3f}x |")
    lines.append("")
    write_markdown(lines, args.output)


if __name__ == "__main__":
    main()
