#!/usr/bin/python3
"""The hot-function warning against the truth: the slowdown memtrace predicts
for a traced function called at a high rate, beside the slowdown measured.

bench/workloads/hot_calls calls hot_work() in a loop for a fixed time, each call
doing SPINS iterations of work, and prints its own time per call. For each SPINS
it runs alone, then under `memtrace -f hot_work --hot-limit 1000` (the warning
comes after the first second); the measured slowdown is the ratio of the times
per call (CPU time, the kernel's handling of the probes included: wall time on
a shared machine says more about the other programs), the predicted one is what
the warning says (~N.Nx slower). Writes
build/bench/hot_function.md (and prints it).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import MEMTRACE, BUILD  # noqa: E402

HOT = os.path.join(BUILD, "bench/hot_calls")


def ns_per_call(stdout):
    """CPU time per call: on a shared machine wall time depends on who else runs."""
    m = re.search(r"cpu_ns_per_call ([0-9.]+)", stdout)
    if not m:
        sys.exit(f"bench: no time per call in {stdout!r}")
    return float(m.group(1))


def alone(seconds, spins):
    r = subprocess.run([HOT, str(seconds), str(spins)], capture_output=True, text=True, check=True)
    return ns_per_call(r.stdout)


def traced(seconds, spins):
    r = subprocess.run([MEMTRACE, "-o", "/dev/null", "--hot-limit", "1000", "-f", "hot_work", "--",
                        HOT, str(seconds), str(spins)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: memtrace failed ({r.returncode}): {r.stderr}")
    warning = re.search(r"probes \(([0-9.]+) µs a call, (\w+)\).*?runs ((at least )?~([0-9.]+)x|100x or more) slower",
                        r.stderr)
    if not warning:
        sys.exit(f"bench: no hot warning in {r.stderr!r}")
    predicted = float(warning.group(5)) if warning.group(5) else 100.0
    bound = warning.group(5) is None or warning.group(4) is not None  # "at least", "or more"
    return ns_per_call(r.stdout), float(warning.group(1)), warning.group(2), (predicted, bound)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spins", default="0,100,1000,5000,20000",
                    help="iterations of work per call, comma-separated")
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/hot_function.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    rows = []
    for spins in [int(s) for s in args.spins.split(",")]:
        plain, under, cost, kind, predicted, bounds = [], [], [], None, [], []
        for _ in range(args.rounds):
            plain.append(alone(args.seconds, spins))
            ns, us, kind, (slower, bound) = traced(args.seconds, spins)
            under.append(ns)
            cost.append(us)
            predicted.append(slower)
            bounds.append(bound)
        p, u = statistics.median(plain), statistics.median(under)
        measured = u / p
        pred = statistics.median(predicted)
        ratio = max(pred, measured) / min(pred, measured)
        bound = bounds.count(True) * 2 > len(bounds)  # the warning gave a lower bound
        shown = "100x or more" if pred >= 100 else (f"at least {pred:.1f}x" if bound else f"{pred:.1f}x")
        apart = ("a lower bound, met" if measured >= pred else f"{ratio:.2f}") if bound else f"{ratio:.2f}"
        rows.append(f"| {spins:,} | {p / 1000:.3f} µs | {u / 1000:.2f} µs | {statistics.median(cost):.1f} µs ({kind}) "
                    f"| **{measured:.1f}x** | {shown} | {apart} |")
    out = [f"`bench/hot_function.py --seconds {args.seconds:g} --rounds {args.rounds}` "
           f"(medians; CPU time per call): `hot_calls` calls `hot_work` for {args.seconds:g} s, alone and under "
           "`memtrace -f hot_work`; the prediction is the warning's, made after the first second from the "
           "traced call rate and the measured cost of a call's probes.", "",
           "| work per call (spins) | call alone | call traced | probes' cost a call (memtrace) "
           "| slowdown measured | predicted | factor apart |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
