#!/usr/bin/python3
"""memtrace's fixed costs: start-up and exit around a program that does nothing,
probe planning, and attaching and removing many probes.

Each command runs --rounds times, alternating with the others (A B C ..., then
reversed), wall time from fork to exit; medians and ranges are reported beside
`perf stat -- /bin/true` and `heaptrack /bin/true`, tools of the same kind.
Writes build/bench/startup.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import MEMTRACE, ROOT, BUILD, write_markdown  # noqa: E402

CC1PLUS = "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus"

COMMANDS = [
    ("/bin/true alone", ["/bin/true"]),
    ("memtrace -- /bin/true", [MEMTRACE, "-q", "-o", "/dev/null", "--", "/bin/true"]),
    ("memtrace --folded -- /bin/true",
     [MEMTRACE, "-q", "-o", "/dev/null", "--folded", "/dev/null", "--", "/bin/true"]),
    ("memtrace -f libc:malloc -- /bin/true", [MEMTRACE, "-q", "-o", "/dev/null", "-f", "libc:malloc", "--", "/bin/true"]),
    ("memtrace -f 'libc:[a-m]*' (1,119 functions) -- /bin/true",
     [MEMTRACE, "-q", "-o", "/dev/null", "-f", "libc:[a-m]*", "--max-probes", "2000", "--", "/bin/true"]),
    ("memtrace --list-funcs 'libc:*' /bin/true", [MEMTRACE, "--list-funcs", "libc:*", "--max-probes", "100000", "/bin/true"]),
    ("memtrace --list-funcs '*' cc1plus", [MEMTRACE, "--list-funcs", "*", "--max-probes", "100000", CC1PLUS]),
    ("perf stat -- /bin/true", ["perf", "stat", "-o", "/dev/null", "--", "/bin/true"]),
    ("heaptrack /bin/true", ["heaptrack", "-o", "/tmp/memtrace-bench-heaptrack", "/bin/true"]),
]


def timed(argv):
    start = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds (a sanity check)")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 9, quick 3)")
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/startup.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    rounds = args.rounds or (3 if args.quick else 9)
    commands = [(label, argv) for label, argv in COMMANDS if os.path.exists(argv[-1]) or argv[-1] != CC1PLUS]
    for _, argv in commands:
        timed(argv)  # warm-up: page cache
    times = {label: [] for label, _ in commands}
    for i in range(rounds):
        order = commands if i % 2 == 0 else list(reversed(commands))
        for label, argv in order:
            times[label].append(timed(argv))
        print(f"round {i + 1}/{rounds}", file=sys.stderr)
    lines = [
        "## Fixed costs: start-up, exit, probe planning and removal",
        "",
        f"`bench/startup.py`: {rounds} alternating rounds, wall time from fork to exit, median",
        "(range). Goal (issue 15): `memtrace -- /bin/true` ≤ 0.10 s; 1,000 probes removed in ≤ 2 s;",
        "`--list-funcs '*'` on cc1plus ≤ 10 s.",
        "",
        "| command | median | range |",
        "| --- | ---: | ---: |",
    ]
    for label, _ in commands:
        t = times[label]
        lines.append(f"| `{label}` | {statistics.median(t):.3f} s | {min(t):.3f}-{max(t):.3f} s |")
    lines += ["", "Probes are attached as uprobe_multi links (one per program and file) and the links'",
              "release, which the kernel serializes, is left to a child process once results are out.", ""]
    write_markdown(lines, args.output)


if __name__ == "__main__":
    main()
