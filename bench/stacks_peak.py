#!/usr/bin/python3
"""What --stacks peak costs beside --stacks touch (the default), on the fault-heavy workload.

Both take the same stack samples; peak also notes each fault's address (page_fault_user),
sends every sample and every munmap/madvise/brk/mremap that frees pages to memtrace as a
record, and memtrace replays them at the end. Alternating rounds (touch, peak, then peak,
touch, ...) of the workload timing itself; one more run each with kernel.bpf_stats_enabled=1
for the time spent in memtrace's BPF programs. Prints a markdown table (docs/benchmarks.md).

Usage: bench/stacks_peak.py [--rounds N] [--mib MIB] [--sample-bytes N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import BUILD, MEMTRACE, elapsed_of, run_plain, set_bpf_stats  # noqa: E402


def traced(argv, kind, sample_bytes, tmp):
    json_path = os.path.join(tmp, "r.json")
    r = subprocess.run([MEMTRACE, "-q", "-o", "/dev/null", "--json", json_path,
                        "--folded", os.path.join(tmp, "out.folded"), "--stacks", kind,
                        "--sample-bytes", str(sample_bytes), "--"] + argv,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"memtrace failed ({r.returncode}): {r.stderr}")
    with open(json_path) as f:
        return elapsed_of(r.stderr), json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--sample-bytes", type=int, default=512 * 1024)
    args = ap.parse_args()
    argv = [os.path.join(BUILD, "bench/fault_heavy"), str(args.mib)]
    kinds = ["touch", "peak"]
    times = {"alone": [], "touch": [], "peak": []}
    cpu = {"touch": [], "peak": []}
    rss = {"touch": [], "peak": []}
    with tempfile.TemporaryDirectory() as tmp:
        set_bpf_stats(False)
        for i in range(args.rounds):
            times["alone"].append(run_plain(argv))
            for kind in (kinds if i % 2 == 0 else kinds[::-1]):
                t, rep = traced(argv, kind, args.sample_bytes, tmp)
                times[kind].append(t)
                own = rep["memtrace"]
                cpu[kind].append(own["cpu_user_s"] + own["cpu_system_s"])
                rss[kind].append(own["maxrss_bytes"])
        bpf = {}
        try:
            set_bpf_stats(True)
            for kind in kinds:
                _, rep = traced(argv, kind, args.sample_bytes, tmp)
                bpf[kind] = (rep["memtrace"]["bpf_run_time_ns"], rep["memtrace"]["bpf_run_count"],
                             rep["stacks"]["samples"])
        finally:
            set_bpf_stats(False)
    alone = statistics.median(times["alone"])
    print(f"fault_heavy {args.mib} MiB, --sample-bytes {args.sample_bytes}, {args.rounds} rounds; "
          f"alone {alone:.3f} s (median)\n")
    print("| --stacks | slowdown (median) | per-round range | time in BPF | BPF runs | samples "
          "| memtrace CPU | memtrace peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in kinds:
        ratios = [t / a for t, a in zip(times[kind], times["alone"])]
        ns, runs, samples = bpf[kind]
        print(f"| {kind} | **{statistics.median(times[kind]) / alone:.3f}x** | "
              f"{min(ratios):.2f}-{max(ratios):.2f}x | {ns / 1e6:.1f} ms | {runs:,} | {samples:,} | "
              f"{statistics.median(cpu[kind]):.3f} s | {statistics.median(rss[kind]) / 2**20:.1f} MiB |")


if __name__ == "__main__":
    main()
