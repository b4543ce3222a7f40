# Python workload for --lines (tests/e2e/test_lines.cpp): the lines of
# three_lines() make bytearrays of known sizes (each zeroed by a memset, so its
# pages are brought in on that line), kept until the function returns. The
# tests find the lines by their "# MT:" markers: keep each marked statement on
# one line.
#
#   pylines.py [REPEAT]    calls three_lines() REPEAT times (default 1)
import sys


def three_lines():
    a = bytearray(8 << 20)  # MT:a
    b = bytearray(16 << 20)  # MT:b
    c = bytearray(32 << 20)  # MT:c
    return len(a) + len(b) + len(c)


def never_called():
    return bytearray(1 << 20)


def main():
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        three_lines()
    print("pylines: done")


main()
