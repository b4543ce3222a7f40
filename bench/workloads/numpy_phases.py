#!/usr/bin/python3
"""Benchmark workload, Python with numpy: memory that grows and shrinks in phases.

    numpy_phases.py [ROUNDS] [ROWS]     (default 3 rounds of 2,000,000 rows)

Each round loads a table in chunks (a list of arrays, then one concatenated copy:
twice the table at the peak), derives normalized and sorted copies, projects it
with a small matrix product (BLAS), aggregates it into Python objects (a dict of
lists: small allocations through Python's own allocator), and frees everything
before the next round. Deterministic (seeded), single-threaded.

Prints "elapsed_s=S cpu_s=C" on stderr: its own run time and CPU time (user +
system, of the whole process) from after the imports, without the tracer's or
the interpreter's start-up.
"""
import gc
import sys
import time

import numpy as np

COLS = 8


def load(rng, rows):
    """Builds the table chunk by chunk, then concatenates: the chunks and the copy coexist."""
    chunks = [rng.random((rows // 8, COLS)) for _ in range(8)]
    table = np.concatenate(chunks)
    del chunks
    return table


def derive(table):
    """Normalized and sorted copies, then a projection: temporaries that come and go."""
    normalized = (table - table.mean(axis=0)) / table.std(axis=0)
    order = np.argsort(normalized[:, 0], kind="stable")
    ranked = normalized[order]
    projected = ranked @ np.linspace(-1.0, 1.0, COLS * 4).reshape(COLS, 4)
    return float(projected[:1000].sum()) + float(np.cumsum(ranked[:, 1])[-1])


def aggregate(table, limit):
    """Groups the first rows into a dict of Python lists: many small Python objects."""
    keys = (table[:limit, 2] * 5000).astype(np.int64).tolist()
    values = table[:limit, 3].tolist()
    groups = {}
    for key, value in zip(keys, values):
        groups.setdefault(key, []).append(value)
    return sum(len(v) for v in groups.values()) + len(groups)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    start, cpu_start = time.perf_counter(), time.process_time()
    rng = np.random.default_rng(42)
    checksum = 0.0
    for _ in range(rounds):
        table = load(rng, rows)
        checksum += derive(table)
        checksum += aggregate(table, rows // 4)
        del table
        gc.collect()
    print(f"elapsed_s={time.perf_counter() - start:.6f} cpu_s={time.process_time() - cpu_start:.6f} "
          f"checksum={checksum:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
