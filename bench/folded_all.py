#!/usr/bin/python3
"""memtrace -a --folded on a busy machine: memtrace's own memory, open files and
time to write its output.

A synthetic load spawns short processes without pause (sh, Debian's python3,
git, gcc on a small C file, sort, sqlite3 when present: each a new program with
its own libraries), while `memtrace -a --folded` traces every process for
--seconds. Every second memtrace's VmRSS, VmHWM and open file descriptors are
read from /proc; at the end, the time from the end of -d to memtrace's exit
and memtrace's CPU time (user + system, from its rusage).
Writes build/bench/folded_all.md (and prints it).
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import MEMTRACE, BUILD  # noqa: E402

LOAD = r"""
set -u
dir=$1
cat > "$dir/small.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void) { char *p = malloc(1 << 20); for (int i = 0; i < (1 << 20); i += 4096) p[i] = 1; printf("%d\n", p[0]); return 0; }
EOF
cd "$dir" && git init -q repo 2>/dev/null
n=0
while :; do
    sh -c 'echo x | sort > /dev/null'
    /usr/bin/python3 -c 'x = [0] * 200000'
    git -C "$dir/repo" status --short > /dev/null
    gcc -O1 -o "$dir/small" "$dir/small.c" && "$dir/small" > /dev/null
    command -v sqlite3 > /dev/null && sqlite3 :memory: 'select 1;' > /dev/null
    n=$((n + 1))
    echo $n > "$dir/rounds"
done
"""


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180, help="-d of the trace (default 180)")
    ap.add_argument("--memtrace", default=MEMTRACE)
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/folded_all.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    work = tempfile.mkdtemp(prefix="memtrace-bench-busy-")
    folded = os.path.join(work, "out.folded")
    report_path = os.path.join(work, "out.json")
    load = subprocess.Popen(["sh", "-c", LOAD, "load", work], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1)
    cpu_before = children_cpu()
    tracer = subprocess.Popen([args.memtrace, "-a", "-q", "-o", "/dev/null", "--folded", folded,
                               "--json", report_path, "-d", str(args.seconds)], stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    samples = []  # (t, rss KiB, hwm KiB, fds)
    while tracer.poll() is None and time.monotonic() - started < args.seconds:
        time.sleep(1)
        samples.append((time.monotonic() - started, status_kib(tracer.pid, "VmRSS"),
                        status_kib(tracer.pid, "VmHWM"), open_fds(tracer.pid)))
    end_of_d = started + args.seconds
    last_hwm = status_kib(tracer.pid, "VmHWM")
    max_fds = max((s[3] or 0 for s in samples), default=0)
    while tracer.poll() is None:
        time.sleep(0.05)
        hwm = status_kib(tracer.pid, "VmHWM")
        last_hwm = hwm or last_hwm
        max_fds = max(max_fds, open_fds(tracer.pid) or 0)
    after_end = time.monotonic() - end_of_d
    cpu = children_cpu() - cpu_before  # memtrace only: the load is waited for below
    stderr = tracer.stderr.read()
    os.killpg(load.pid, 9)
    load.wait()
    try:
        rounds = int(open(os.path.join(work, "rounds")).read())
    except (OSError, ValueError):
        rounds = 0
    lines = sum(1 for _ in open(folded)) if os.path.exists(folded) else 0
    try:
        with open(report_path) as f:
            unwind = json.load(f)["stacks"]["unwind"]
    except (OSError, ValueError, KeyError):
        unwind = {}
    shutil.rmtree(work, ignore_errors=True)
    if tracer.returncode != 0:
        sys.exit(f"bench: memtrace failed ({tracer.returncode}): {stderr[-2000:]}")

    out = [f"`bench/folded_all.py --seconds {args.seconds:g}`: `memtrace -a --folded` for "
           f"{args.seconds:g} s while a load ran {rounds} rounds of sh, sort, python3, git, gcc, a "
           f"small C program{' and sqlite3' if shutil.which('sqlite3') else ''} "
           f"(~{rounds * 6 / args.seconds:.0f} new programs a second); {lines:,} folded stacks.", "",
           "| time | memtrace VmRSS | VmHWM | open fds |", "| ---: | ---: | ---: | ---: |"]
    step = max(1, len(samples) // 10)
    for t, rss, hwm, fds in samples[::step] + ([samples[-1]] if samples else []):
        out.append(f"| {t:.0f} s | {(rss or 0) / 1024:.1f} MiB | {(hwm or 0) / 1024:.1f} MiB | {fds} |")
    out += ["", f"At the end: VmHWM **{(last_hwm or 0) / 1024:.1f} MiB**, at most {max_fds} open fds, "
            f"output written and memtrace exited **{after_end:.2f} s** after the end of -d; "
            f"memtrace's CPU time {cpu:.1f} s ({100 * cpu / args.seconds:.1f}% of one core). "
            f"Stacks unwound with DWARF: {unwind.get('by_dwarf', 0):,}; stack copies lost "
            f"(ring buffer full): {unwind.get('copies_lost', 0):,}."]
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
