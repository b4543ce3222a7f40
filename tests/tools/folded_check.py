#!/usr/bin/python3
"""A faithful reader of the folded-stack format, for tests.

It applies the rules of the format's consumers: flamegraph.pl's line parser
(`^(.*)\\s+(\\d+(?:\\.\\d*)?)$`, frames split on ';'), and the stricter form
memtrace promises: exactly one space before an integer count, no empty frame,
no ';' or newline inside a frame, lines sorted and unique.

Usage: folded_check.py FILE   prints "ok LINES TOTAL" or the first problem, exit 1.
"""
import re
import sys

FLAMEGRAPH_LINE = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")  # flamegraph.pl, stackcollapse output
STRICT_LINE = re.compile(r"^([^ ](?:.*[^ ])?) (\d+)$")


def check(lines):
    total = 0
    previous = None
    for number, line in enumerate(lines, 1):
        if not FLAMEGRAPH_LINE.match(line):
            return f"line {number}: flamegraph.pl would not parse it: {line!r}"
        m = STRICT_LINE.match(line)
        if not m:
            return f"line {number}: not 'frames COUNT' with one space and an integer: {line!r}"
        stack, count = m.group(1), int(m.group(2))
        if count <= 0:
            return f"line {number}: count must be positive: {line!r}"
        frames = stack.split(";")
        if any(f == "" for f in frames):
            return f"line {number}: an empty frame: {line!r}"
        if previous is not None and stack <= previous:
            return f"line {number}: not sorted or not unique after {previous!r}"
        previous = stack
        total += count
    return f"ok {len(lines)} {total}"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        print("the last line has no newline")
        return 1
    result = check(text.splitlines())
    print(result)
    return 0 if result.startswith("ok ") else 1


if __name__ == "__main__":
    sys.exit(main())
