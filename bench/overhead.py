#!/usr/bin/python3
"""memtrace's overhead on a fault-heavy and an allocation-heavy workload.

Each workload runs alone and under `memtrace -- WORKLOAD`, alternating (A B, then B A, ...)
so drift on a shared machine hits both alike. The workloads time themselves
(elapsed_s on stderr), so the slowdown is the traced program's, without memtrace's
set-up. Two extra traced runs with kernel.bpf_stats_enabled=1 (plain, and
--folded --unwind dwarf) measure the time the kernel spends in memtrace's BPF
programs: the steady measure of what memtrace costs the traced program, where
wall-time ratios drown in this VM's noise. Results go to docs/benchmarks.md.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
MEMTRACE = os.path.join(BUILD, "memtrace")

WORKLOADS = [
    # name, argv, description, quick argv
    ("fault-heavy", [os.path.join(BUILD, "bench/fault_heavy"), "2048"],
     "C: map 64 MiB, touch every page, unmap, again and again (argument: MiB in all)",
     [os.path.join(BUILD, "bench/fault_heavy"), "512"]),
    ("allocation-heavy", [os.path.join(BUILD, "bench/alloc_heavy"), "2"],
     "C++: build and drop a 2M-entry unordered_map and 3M strings per round (arguments: rounds, map entries)",
     [os.path.join(BUILD, "bench/alloc_heavy"), "1", "400000"]),
]



def write_markdown(lines, path):
    """A benchmark's results: written to `path` (build/bench/*.md, which bench/run.sh
    gathers into docs/benchmarks.md) and printed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    print(f"\nwritten to {os.path.relpath(path, ROOT)}", file=sys.stderr)

def elapsed_of(stderr):
    m = re.search(r"elapsed_s=([0-9.]+)", stderr)
    if not m:
        sys.exit(f"benchmark workload printed no elapsed_s: {stderr!r}")
    return float(m.group(1))


def run_plain(argv):
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    return elapsed_of(r.stderr)


# What runs the workload: alone, or under memtrace with these options.
CONFIGS = [
    ("alone", None),
    ("memtrace", []),
    ("--folded", ["--folded", "/tmp/memtrace-bench.folded"]),
    ("--folded --unwind fp", ["--folded", "/tmp/memtrace-bench.folded", "--unwind", "fp"]),
    ("--folded --unwind dwarf", ["--folded", "/tmp/memtrace-bench.folded", "--unwind", "dwarf"]),
    ("--folded --sample-bytes 4096", ["--folded", "/tmp/memtrace-bench.folded", "--sample-bytes", "4096"]),
]


def run_traced(argv, json_path, options=()):
    r = subprocess.run([MEMTRACE, "-q", "-o", "/dev/null", "--json", json_path] + list(options) +
                       ["--"] + argv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"memtrace failed ({r.returncode}): {r.stderr}")
    with open(json_path) as f:
        report = json.load(f)
    return elapsed_of(r.stderr), report


def set_bpf_stats(on):
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1" if on else "0")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{platform.node()}: Linux {platform.release()}, {os.cpu_count()} CPUs ({cpu})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller workloads, 3 rounds (a sanity check)")
    ap.add_argument("--rounds", type=int, help="alternating rounds per workload (default 7, quick 3)")
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/overhead.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    rounds = args.rounds or (3 if args.quick else 7)
    tmp = tempfile.mkdtemp(prefix="memtrace-bench-")
    json_path = os.path.join(tmp, "report.json")
    set_bpf_stats(False)

    rows = []
    for name, full_argv, description, quick_argv in WORKLOADS:
        argv = quick_argv if args.quick else full_argv
        run_plain(argv)  # warm-up: page cache, binaries
        times = {label: [] for label, _ in CONFIGS}
        cpu, rss = [], []
        dwarf_cpu = []
        for i in range(rounds):
            order = CONFIGS if i % 2 == 0 else list(reversed(CONFIGS))
            for label, options in order:
                if options is None:
                    times[label].append(run_plain(argv))
                    continue
                t, report = run_traced(argv, json_path, options)
                times[label].append(t)
                if label == "--folded --unwind dwarf":
                    cost = report["memtrace"]
                    dwarf_cpu.append(cost["cpu_user_s"] + cost["cpu_system_s"])
                if label == "memtrace":
                    cost = report["memtrace"]
                    cpu.append(cost["cpu_user_s"] + cost["cpu_system_s"])
                    rss.append(cost["maxrss_bytes"])
            print(f"{name} round {i + 1}/{rounds}: " +
                  ", ".join(f"{label} {times[label][-1]:.3f} s" for label, _ in CONFIGS), file=sys.stderr)
        set_bpf_stats(True)
        try:
            _, report = run_traced(argv, json_path)
            _, dwarf_report = run_traced(argv, json_path, dict(CONFIGS)["--folded --unwind dwarf"])
        finally:
            set_bpf_stats(False)
        dwarf_cost = dwarf_report["memtrace"]
        dwarf_unwind = dwarf_report["stacks"]["unwind"]
        cost = report["memtrace"]
        proc = report["processes"][0]
        plain = times["alone"]
        ratio = {label: statistics.median(times[label]) / statistics.median(plain) for label, _ in CONFIGS}
        spread = {label: (min(t / p for t, p in zip(times[label], plain)),
                          max(t / p for t, p in zip(times[label], plain))) for label, _ in CONFIGS}
        rows.append({
            "name": name, "description": description, "argv": argv,
            "plain": statistics.median(plain), "traced": statistics.median(times["memtrace"]),
            "ratio": ratio["memtrace"], "ratio_min": spread["memtrace"][0], "ratio_max": spread["memtrace"][1],
            "ratios": ratio, "spreads": spread,
            "dwarf_cpu": statistics.median(dwarf_cpu) if dwarf_cpu else 0,
            "cpu": statistics.median(cpu), "rss": statistics.median(rss),
            "bpf_ns": cost["bpf_run_time_ns"], "bpf_runs": cost["bpf_run_count"],
            "faults": proc["page_faults"], "peak": proc["peak_rss_bytes"],
            "dwarf_bpf_ns": dwarf_cost["bpf_run_time_ns"], "dwarf_bpf_runs": dwarf_cost["bpf_run_count"],
            "dwarf_copies": dwarf_unwind["by_dwarf"], "dwarf_lost": dwarf_unwind["copies_lost"],
        })

    lines = [
        "## Process tracing: overhead on the traced program",
        "",
        f"`bench/overhead.py`: {rounds} alternating rounds per workload, medians reported. The",
        "workloads time themselves, so the slowdown is the traced program's own, not memtrace's",
        "start-up (~0.5-0.6 s to load and attach its BPF programs).",
        "",
        "| workload | alone | under memtrace | slowdown (median) | per-round range | memtrace CPU | memtrace peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['plain']:.3f} s | {r['traced']:.3f} s | **{r['ratio']:.3f}x** | "
            f"{r['ratio_min']:.3f}-{r['ratio_max']:.3f}x | {r['cpu']:.3f} s | {r['rss'] / 2**20:.1f} MiB |")
    lines += [
        "",
        "With stacks (`--folded`), same rounds: slowdown against the workload alone, median",
        "(per-round range). The default samples a stack per 512 KiB brought in per thread;",
        "`--sample-bytes 4096` takes one at every page. `--folded` unwinds with `--unwind auto`",
        "(the default); `fp` only walks frame pointers in the kernel; `dwarf` copies 16 KiB of",
        "stack at every sample and unwinds it in memtrace (memtrace's own CPU in the last column).",
        "",
        "| workload | memtrace | --folded (512 KiB) | --unwind fp | --unwind dwarf | --folded --sample-bytes 4096 | memtrace CPU, dwarf |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cells = []
        for label in ("memtrace", "--folded", "--folded --unwind fp", "--folded --unwind dwarf",
                      "--folded --sample-bytes 4096"):
            lo, hi = r["spreads"][label]
            cells.append(f"**{r['ratios'][label]:.3f}x** ({lo:.2f}-{hi:.2f})")
        cells.append(f"{r['dwarf_cpu']:.3f} s")
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Kernel time in memtrace's BPF programs (one more traced run with",
        "`kernel.bpf_stats_enabled=1`; this time is charged to the traced program and is",
        "part of its slowdown above):",
        "",
        "| workload | program runs | time in BPF | per run | share of the program's time alone | page faults | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        per_run = r["bpf_ns"] / r["bpf_runs"] if r["bpf_runs"] else 0
        share = r["bpf_ns"] / 1e9 / r["plain"] * 100
        lines.append(
            f"| {r['name']} | {r['bpf_runs']:,} | {r['bpf_ns'] / 1e6:.1f} ms | {per_run:.0f} ns | "
            f"{share:.2f}% | {r['faults']:,} | {r['peak'] / 2**20:.1f} MiB |")
    lines += [
        "",
        "The same with `--folded --unwind dwarf` (one more run, stats on): sampling and the stack",
        "copies happen inside the BPF programs, so what DWARF stacks cost the traced program is",
        "the difference in BPF time (per copy: that difference over the copies); the unwinding",
        "itself runs in memtrace, on another CPU (memtrace CPU, dwarf, above).",
        "",
        "| workload | time in BPF, memtrace | time in BPF, --unwind dwarf | stack copies (lost) | extra per copy | share of the program's time alone, dwarf |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        extra = r["dwarf_bpf_ns"] - r["bpf_ns"]
        per_copy = extra / r["dwarf_copies"] if r["dwarf_copies"] else 0
        share = r["dwarf_bpf_ns"] / 1e9 / r["plain"] * 100
        lines.append(
            f"| {r['name']} | {r['bpf_ns'] / 1e6:.1f} ms | {r['dwarf_bpf_ns'] / 1e6:.1f} ms | "
            f"{r['dwarf_copies']:,} ({r['dwarf_lost']:,}) | {per_copy / 1e3:.1f} µs | {share:.2f}% |")
    lines += ["", "Workloads (`bench/workloads/`):", ""]
    for r in rows:
        lines.append(f"- {r['name']}: {r['description']}; run as `{' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in r['argv'])}`.")
    lines.append("")
    write_markdown(lines, args.output)


if __name__ == "__main__":
    main()
