#!/bin/sh
# memtrace's benchmarks. Usage: bench/run.sh [--quick]
# Builds memtrace and the benchmark workloads, runs bench/overhead.py (process
# tracing) and bench/probes.py (-f), and writes docs/benchmarks.md.
# Run as root on an otherwise idle machine.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory build/memtrace build/bench/fault_heavy build/bench/alloc_heavy \
    build/bench/probe_cost build/bench/requests
/usr/bin/python3 bench/overhead.py "$@"
/usr/bin/python3 bench/probes.py "$@"
machine=$(/usr/bin/python3 -c 'import os,platform; cpu=[l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]; print(f"{platform.node()}: Linux {platform.release()}, {os.cpu_count()} CPUs ({cpu})")')
{
    echo "# memtrace benchmarks"
    echo
    echo "Measured $(date +%Y-%m-%d) on $machine."
    echo "Reproduce with \`sudo bench/run.sh${*:+ $*}\` (or \`make bench\`). Ratios are measured side by side"
    echo "in one run, alternating, on a shared VM: read the per-round range as the noise."
    echo
    cat build/bench/overhead.md
    echo
    cat build/bench/probes.md
} > docs/benchmarks.md
echo "written to docs/benchmarks.md" >&2
