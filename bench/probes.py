#!/usr/bin/python3
"""The cost of -f: one probed call by entry instruction, and a realistic workload.

1. bench/workloads/probe_cost calls three functions that start with a 5-byte nop
   (the kernel's optimized path), a push (emulated) and a lea (single-stepped),
   each ending in ret, alone and under `memtrace -f`; the difference per call is
   the probes' cost. For comparison, the kernel's own uprobe + uretprobe pair
   (tracefs uprobe_events, which memtrace does not use: a uretprobe breaks C++
   exception unwinding) on the same function.
2. bench/workloads/requests handles ~1 ms requests, calling three functions per
   request; alone vs under `memtrace -f` on all three: the slowdown at a realistic rate.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
MEMTRACE = os.path.join(BUILD, "memtrace")
PROBE_COST = os.path.join(BUILD, "bench/probe_cost")
REQUESTS = os.path.join(BUILD, "bench/requests")
TRACING = "/sys/kernel/tracing"


def per_call(stdout):
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"(\w+_fn) ([0-9.]+)", stdout)}


def run_probe_cost(calls, traced):
    argv = [PROBE_COST, str(calls)]
    if traced:
        argv = [MEMTRACE, "-q", "-o", "/dev/null", "--hot-limit", "1000000000",
                "-f", "nop5_fn,push_fn,lea_fn", "--"] + argv
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    return per_call(r.stdout)


def symbol_offset(binary, name):
    out = subprocess.run(["readelf", "-sW", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] == name:
            value = int(f[1], 16)
            # PIE: file offset = vaddr - (segment vaddr - segment offset); the text
            # segment of a small PIE maps at its file offset, so they are equal.
            return value
    sys.exit(f"bench: {name} not found in {binary}")


def run_uretprobe(calls):
    """lea_fn under the kernel's uprobe + uretprobe pair (tracefs), ns per call."""
    offset = symbol_offset(PROBE_COST, "lea_fn")
    events = os.path.join(TRACING, "uprobe_events")

    def command(text):  # one definition per write, as tracefs parses them
        fd = os.open(events, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    command(f"p:mtbench_entry {PROBE_COST}:{offset:#x}\n")
    command(f"r:mtbench_return {PROBE_COST}:{offset:#x}\n")
    try:
        for e in ("mtbench_entry", "mtbench_return"):
            with open(os.path.join(TRACING, "events/uprobes", e, "enable"), "w") as f:
                f.write("1")
        return per_call(subprocess.run([PROBE_COST, str(calls)], capture_output=True, text=True,
                                       check=True).stdout)["lea_fn"]
    finally:
        for e in ("mtbench_entry", "mtbench_return"):
            try:
                with open(os.path.join(TRACING, "events/uprobes", e, "enable"), "w") as f:
                    f.write("0")
            except OSError:
                pass
        command("-:mtbench_entry\n")
        command("-:mtbench_return\n")
        with open(os.path.join(TRACING, "trace"), "w") as f:
            f.write("")


def run_requests(n, traced):
    argv = [REQUESTS, str(n)]
    if traced:
        argv = [MEMTRACE, "-q", "-o", "/dev/null", "-f", "handle_request,parse_request,build_response",
                "--json", "/tmp/memtrace-bench-requests.json", "--"] + argv
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    return float(re.search(r"elapsed_s=([0-9.]+)", r.stderr).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/probes.md"))
    args = ap.parse_args()
    rounds = 3 if args.quick else 5
    calls = 5000 if args.quick else 20000
    requests = 1000 if args.quick else 3000

    plain, traced = {}, {}
    for i in range(rounds):
        for kind in (("plain", "traced") if i % 2 == 0 else ("traced", "plain")):
            result = run_probe_cost(calls, kind == "traced")
            for fn, ns in result.items():
                (traced if kind == "traced" else plain).setdefault(fn, []).append(ns)
        print(f"probe cost round {i + 1}/{rounds}", file=sys.stderr)
    uret = statistics.median(run_uretprobe(calls) for _ in range(rounds))

    req_plain, req_traced = [], []
    for i in range(rounds):
        for kind in (("plain", "traced") if i % 2 == 0 else ("traced", "plain")):
            (req_traced if kind == "traced" else req_plain).append(run_requests(requests, kind == "traced"))
        print(f"requests round {i + 1}/{rounds}", file=sys.stderr)
    import json
    with open("/tmp/memtrace-bench-requests.json") as f:
        report = json.load(f)
    estimated = sum(f["estimated_probe_cost_s"] for f in report["functions"])
    calls_traced = sum(f["calls"] for f in report["functions"])

    names = {"nop5_fn": "5-byte nop (optimized)", "push_fn": "push %rbx (emulated)",
             "lea_fn": "lea (single-stepped)"}
    lines = [
        "## Function probes (-f): cost per call",
        "",
        f"`bench/probes.py`: {calls:,} calls of each function, {rounds} alternating rounds,",
        "medians. memtrace probes a function's entry and each of its `ret` instructions",
        "(no uretprobes: their trampoline makes C++ exception unwinding call std::terminate).",
        "A `ret` is single-stepped by the kernel, so every call pays one single-step on return.",
        "",
        "| function starts with | alone | under memtrace -f | cost per call |",
        "| --- | ---: | ---: | ---: |",
    ]
    for fn in ("nop5_fn", "push_fn", "lea_fn"):
        p, t = statistics.median(plain[fn]), statistics.median(traced[fn])
        lines.append(f"| {names[fn]} | {p:.1f} ns | {t / 1000:.1f} µs | **{(t - p) / 1000:.1f} µs** |")
    lea_cost = statistics.median(traced["lea_fn"]) - statistics.median(plain["lea_fn"])
    lines += [
        "",
        f"For comparison, the kernel's uprobe + uretprobe pair on `lea_fn` (tracefs events, no BPF):",
        f"{(uret - statistics.median(plain['lea_fn'])) / 1000:.1f} µs per call, against",
        f"{lea_cost / 1000:.1f} µs for memtrace's entry + return-site probes.",
        "",
        "## Function probes (-f): a realistic workload",
        "",
        f"`bench/workloads/requests`: {requests:,} requests of ~1 ms, each calling `handle_request`,",
        "`parse_request` and `build_response`, all three traced.",
        "",
        "| alone | under memtrace -f (3 functions) | slowdown | traced calls | memtrace's estimate of probe time |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {statistics.median(req_plain):.3f} s | {statistics.median(req_traced):.3f} s | "
        f"**{statistics.median(req_traced) / statistics.median(req_plain):.3f}x** | {calls_traced:,} | "
        f"{estimated:.3f} s |",
        "",
    ]
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
