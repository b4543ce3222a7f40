# Python workload for memtrace -p (tests/e2e/test_python.cpp): a loop that
# brings fresh pages in periodically until its stdin closes. The test finds the
# lines of the statements below by their "# MT:" markers.
#
# Each tick makes a 40 MiB bytearray and drops it: above glibc's largest mmap
# threshold (32 MiB), so every tick maps, touches and unmaps 40 MiB anew.
# "ready" goes to stderr after the first tick (imports done, loop running).
import select
import sys


def tick():
    buf = bytearray(40 << 20)  # MT:tick
    return len(buf)


def main():
    tick()  # MT:main_first
    print("ready", file=sys.stderr, flush=True)
    while True:
        tick()  # MT:main_tick
        readable, _, _ = select.select([sys.stdin], [], [], 0.2)
        if readable and not sys.stdin.buffer.read1(1):
            return  # stdin closed: the test is done


main()  # MT:module
