"""The feature count of the C demo, in Python: every observation kept in a list
(extract_array) against a count per distinct feature (extract_dict). Run it
under memtrace to see which function holds the memory, and on which line:

    sudo memtrace --folded out.folded -- /usr/bin/python3 demo/feature_extract.py both
"""
import sys

N = 2_000_000


def observations(n):
    for i in range(n):
        yield ("token", i % 1000)  # 1000 distinct features


def extract_array(n):
    seen = []
    for obs in observations(n):
        seen.append(obs)  # every observation kept
    return len(seen)


def extract_dict(n):
    counts = {}
    for obs in observations(n):
        counts[obs] = counts.get(obs, 0) + 1  # one entry per distinct feature
    return len(counts)


def main(mode):
    if mode in ("array", "both"):
        print("array:", extract_array(N))
    if mode in ("dict", "both"):
        print("dict:", extract_dict(N))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "both")
