"""An allocation-heavy Python program for bench/python.py: each round builds 300,000
small dicts (with a string and a list each) and an index of them, then drops both, so
pymalloc's arenas are touched, freed and touched again; a deep-ish call chain (8 Python
frames) makes each stack walk do real work. Prints elapsed_s=SECONDS on stderr.
Usage: py_alloc.py [ROUNDS] (default 6)."""
import sys
import time


def make_rows(n):
    return [{"id": i, "name": "item%d" % i, "tags": [i, i + 1, i + 2]} for i in range(n)]


def index_rows(rows):
    return {row["name"]: row for row in rows}


def one_round(n):
    rows = make_rows(n)
    index = index_rows(rows)
    return len(index)


def nest(depth, n):
    if depth == 0:
        return one_round(n)
    return nest(depth - 1, n)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    start = time.perf_counter()
    total = 0
    for _ in range(rounds):
        total += nest(5, 300_000)
    print(f"elapsed_s={time.perf_counter() - start:.3f} rows={total}", file=sys.stderr)


main()
