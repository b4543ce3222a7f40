#!/bin/sh
# memtrace's overhead benchmark. Usage: bench/run.sh [--quick] [--rounds N]
# Builds memtrace and the benchmark workloads, then runs bench/overhead.py,
# which writes docs/benchmarks.md. Run as root on an otherwise idle machine.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory build/memtrace build/bench/fault_heavy build/bench/alloc_heavy
exec /usr/bin/python3 bench/overhead.py "$@"
