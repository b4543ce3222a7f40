#!/bin/sh
# memtrace's benchmarks. Usage: bench/run.sh [--quick]
# Installs the peers (scripts/install-bench-deps.sh), builds memtrace and the benchmark
# workloads, runs bench/peers.py (memtrace against heaptrack, memleak, massif and mprof),
# bench/overhead.py (process tracing and stacks), bench/probes.py (-f) and bench/python.py
# (Python frames against none, and mprof run), bench/startup.py (fixed costs),
# bench/whole_run.py (a 3 s program traced from fork to exit, start-up and exit included),
# bench/stacks_peak.py (--stacks peak beside touch), bench/hot_function.py (the hot-function
# warning against the truth), bench/folded_all.py (-a --folded: memtrace's own memory on a
# busy machine) and bench/whole_stacks.py (whole stacks on real programs, and what the copies
# cost), and writes docs/benchmarks.md.
# Run as root on an otherwise idle machine: the full run takes about 45 minutes on a
# 2-CPU VM; --quick (small workloads, one round: a check that everything runs) under 5.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "bench: memtrace and memleak load BPF programs: run as root (sudo $0 $*)" >&2
    exit 2
fi
quick=""
for arg in "$@"; do
    case "$arg" in
        --quick) quick="--quick" ;;
        *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
    esac
done
start=$(date +%s)
./scripts/install-bench-deps.sh
make --no-print-directory build/memtrace build/bench/fault_heavy build/bench/alloc_heavy \
    build/bench/probe_cost build/bench/requests build/bench/hot_calls
/usr/bin/python3 bench/peers.py $quick
if [ -n "$quick" ]; then
    /usr/bin/python3 bench/overhead.py --quick --rounds 2
else
    # 5 rounds, not overhead.py's default 7: the whole run stays within ~35 minutes
    /usr/bin/python3 bench/overhead.py --rounds 5
fi
/usr/bin/python3 bench/probes.py $quick
/usr/bin/python3 bench/python.py $quick
/usr/bin/python3 bench/startup.py $quick
/usr/bin/python3 bench/whole_run.py $quick
if [ -n "$quick" ]; then
    /usr/bin/python3 bench/stacks_peak.py --rounds 1 --mib 256 > build/bench/stacks_peak.md
    /usr/bin/python3 bench/hot_function.py --rounds 1 --seconds 2 --spins 0,5000
    /usr/bin/python3 bench/folded_all.py --seconds 20
else
    /usr/bin/python3 bench/stacks_peak.py > build/bench/stacks_peak.md
    /usr/bin/python3 bench/hot_function.py
    /usr/bin/python3 bench/folded_all.py
fi
/usr/bin/python3 bench/whole_stacks.py
minutes=$(( ($(date +%s) - start + 59) / 60 ))
# before docs/benchmarks.md is rewritten (which would mark the tree dirty)
version=$(git describe --always --dirty 2>/dev/null || echo '?')
machine=$(/usr/bin/python3 -c 'import os,platform; cpu=[l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]; print(f"{platform.node()}: Linux {platform.release()}, {os.cpu_count()} CPUs ({cpu})")')
{
    echo "# memtrace benchmarks"
    echo
    echo "Measured $(date +%Y-%m-%d) on $machine, memtrace $version,"
    echo "in $minutes minutes, with \`sudo bench/run.sh${quick:+ $quick}\` (\`make bench\` runs \`bench/run.sh\`)."
    if [ -n "$quick" ]; then
        echo "**A \`--quick\` run**: small workloads and a single round, a check that everything runs;"
        echo "the published numbers come from \`sudo bench/run.sh\` on an idle machine (about 35 minutes)."
    fi
    echo "Ratios are measured side by side in one run, alternating, on a shared VM: read the per-round"
    echo "range as the noise."
    echo
    cat build/bench/peers.md
    echo
    cat build/bench/overhead.md
    echo
    cat build/bench/probes.md
    echo
    cat build/bench/python.md
    echo
    cat build/bench/startup.md
    echo
    cat build/bench/whole_run.md
    echo
    echo "## Stacks at the peak (\`--stacks peak\`) beside first touch (\`--stacks touch\`)"
    echo
    cat build/bench/stacks_peak.md
    echo
    echo "## -f: the hot-function warning against the truth"
    echo
    cat build/bench/hot_function.md
    echo
    echo "## -a --folded: memtrace's own memory on a busy machine"
    echo
    cat build/bench/folded_all.md
    echo
    echo "## Whole stacks on real programs"
    echo
    cat build/bench/whole_stacks.md
} > docs/benchmarks.md
echo "written to docs/benchmarks.md ($minutes min)" >&2
