# Python workload with known memory behaviour, for tests/e2e/test_python.cpp.
# The tests find the lines of the statements below by their "# MT:" markers:
# keep each marked statement on one line.
#
#   pyfuncs.py [big] [keep] [thread] [gen] [comp]   (no argument: all of them)
#
#   big     make_big: a 64 MiB bytearray, made and dropped (its pages are touched
#           by the zeroing memset inside bytearray())
#   keep    keep_ints: a list of 4 Mi references to one small int (32 MiB of
#           pointers), kept until exit
#   thread  a threading.Thread whose target, thread_work, makes a 32 MiB bytearray
#   gen     consume() takes 16 MiB bytearrays, 2 of them, from the generator chunks()
#   comp    squares(): a list comprehension of 1 Mi ints (a <listcomp> frame in 3.11;
#           inlined into squares from 3.12 on)
#   grow    grow_n(): 8 calls of grow_step, each keeping a 4 MiB bytearray; between
#           calls, the caller itself brings in 256 KiB (so each call is seen apart)
#   exit    leave(): brings in 8 MiB, then os._exit(0) from inside it (run last)
#   recompile  40 rounds: compile a fresh module genN.py defining fN, run fN (a 1 MiB
#           bytearray, kept), drop the code: new code objects, often where freed ones were
import os
import sys
import threading

KEPT = []


def make_big():
    buf = bytearray(64 << 20)  # MT:make_big
    return len(buf)


def keep_ints():
    KEPT.append([7] * (4 << 20))  # MT:keep_ints


def thread_work():
    KEPT.append(bytearray(32 << 20))  # MT:thread_work


def run_thread():
    t = threading.Thread(target=thread_work, name="worker")
    t.start()
    t.join()


def chunks(n):
    for _ in range(n):
        yield bytearray(16 << 20)  # MT:chunks


def consume():
    for chunk in chunks(2):  # MT:consume
        KEPT.append(chunk)


def squares():
    return [i * i for i in range(1 << 20)]  # MT:squares


def grow_step(i):
    KEPT.append(bytearray(4 << 20))  # MT:grow_step


def grow_n(n):
    for i in range(n):
        grow_step(i)  # MT:grow_n
        KEPT.append(bytearray(256 << 10))


def leave():
    KEPT.append(bytearray(8 << 20))  # MT:leave
    os._exit(0)


def recompile():
    for i in range(40):
        source = f"def f{i}():\n    KEPT.append(bytearray(1 << 20))\nf{i}()\n"
        exec(compile(source, f"gen{i}.py", "exec"), {"KEPT": KEPT})  # MT:recompile


def main(what):
    if "big" in what:
        make_big()  # MT:main_big
    if "keep" in what:
        keep_ints()  # MT:main_keep
    if "thread" in what:
        run_thread()  # MT:main_thread
    if "gen" in what:
        consume()  # MT:main_gen
    if "comp" in what:
        KEPT.append(squares())  # MT:main_comp
    if "grow" in what:
        grow_n(8)  # MT:main_grow
    if "recompile" in what:
        recompile()  # MT:main_recompile
    if "exit" in what:
        leave()  # MT:main_exit


main(sys.argv[1:] or ["big", "keep", "thread", "gen", "comp"])  # MT:module
