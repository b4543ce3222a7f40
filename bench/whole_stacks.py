#!/usr/bin/python3
"""Whole stacks on real programs: the share of bytes under stacks cut short, and
what the stack copies cost, with the default copy size and with 16 KiB.

Each program runs under `memtrace --children --folded F --json J` (default
--unwind auto) with kernel.bpf_stats_enabled=1, once with the default
--stack-bytes (64 KiB, never past the stack's top) and once with 16 KiB (the
old default). From the folded file: bytes in all and bytes under a stack marked
`[cut short: ...]`; from the JSON: the time the traced programs spent in
memtrace's BPF programs and the stack copies taken. Writes
build/bench/whole_stacks.md (and prints it).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import MEMTRACE, ROOT, BUILD, set_bpf_stats  # noqa: E402

SQL = ("create table t(a integer primary key, b text); "
       "with recursive c(x) as (select 1 union all select x+1 from c where x<200000) "
       "insert into t select x, hex(randomblob(64)) from c; "
       "create index tb on t(b); select count(*) from t where b like 'A%';")
PY = "d = {str(i): [i] * 8 for i in range(300000)}; s = sorted(d, key=lambda k: d[k][0] % 977); print(len(s))"
PERL = "my %h; $h{$_} = [($_) x 8] for 1..300000; my @k = sort { $h{$a}[0] % 977 <=> $h{$b}[0] % 977 } keys %h; print scalar(@k), qq(\\n);"
CPP = "#include <bits/stdc++.h>\nint main() { std::map<int, std::string> m; m[1] = \"x\"; return m.size(); }\n"


def programs(tmp):
    cpp = os.path.join(tmp, "small.cpp")
    with open(cpp, "w") as f:
        f.write(CPP)
    out = [
        ("sqlite3", ["sqlite3", ":memory:", SQL]),
        ("git log -p", ["git", "-C", ROOT, "log", "-p", "-300", "--stat"]),
        ("python3", ["/usr/bin/python3", "-c", PY]),
        ("perl", ["perl", "-e", PERL]),
        ("g++ -O2 (cc1plus)", ["g++", "-O2", "-c", cpp, "-o", os.path.join(tmp, "small.o")]),
    ]
    if shutil.which("rg"):
        out.append(("rg", ["rg", "-c", "define", "/usr/include"]))
    return out


def traced(argv, stack_bytes, tmp):
    folded = os.path.join(tmp, "out.folded")
    js = os.path.join(tmp, "out.json")
    cmd = [MEMTRACE, "-q", "-o", "/dev/null", "--children", "--folded", folded, "--json", js]
    if stack_bytes:
        cmd += ["--stack-bytes", str(stack_bytes)]
    r = subprocess.run(cmd + ["--"] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"memtrace failed ({r.returncode}) on {argv[0]}: {r.stderr[-2000:]}")
    total = cut = 0
    with open(folded) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            total += int(n)
            if "[cut short" in stack:
                cut += int(n)
    with open(js) as f:
        rep = json.load(f)
    own = rep["memtrace"]
    unwind = rep.get("stacks", {}).get("unwind", {})
    return {"total": total, "cut": cut, "bpf_ns": own.get("bpf_run_time_ns", 0),
            "copies": unwind.get("by_dwarf", 0), "samples": unwind.get("by_dwarf", 0) + unwind.get("by_frame_pointers", 0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", default=os.path.join(BUILD, "bench/whole_stacks.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: memtrace loads BPF programs: run as root")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            set_bpf_stats(True)
            for label, argv in programs(tmp):
                small = traced(argv, 16384, tmp)
                default = traced(argv, None, tmp)
                rows.append((label, small, default))
                print(label, small, default, file=sys.stderr)
        finally:
            set_bpf_stats(False)

    def share(r):
        return f"{100.0 * (r['total'] - r['cut']) / r['total']:.2f}%" if r["total"] else "-"

    def bpf(r):
        return f"{r['bpf_ns'] / 1e6:.1f} ms"

    out = ["`bench/whole_stacks.py`: each program once with `--stack-bytes 16384` and once with the",
           "default (64 KiB, never past the stack's top), `--children --folded`, default `--unwind auto`,",
           "`kernel.bpf_stats_enabled=1`. Whole: the share of bytes under stacks not cut short. BPF time:",
           "what the traced programs spent in memtrace's programs (copies included).",
           "",
           "| program | bytes sampled | whole, 16 KiB | whole, default | samples (of them copied) | BPF time, 16 KiB | BPF time, default |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, small, default in rows:
        out.append(f"| {label} | {default['total'] / 1048576:.1f} MiB | {share(small)} | **{share(default)}** | "
                   f"{default['samples']:,} ({default['copies']:,}) | {bpf(small)} | {bpf(default)} |")
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
