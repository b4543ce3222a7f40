/*
 * linework: lines that bring in known memory, for --lines tests. Each marked
 * line ("MT:name") of three_lines() touches a fresh anonymous mapping page by
 * page (no huge pages): exactly its size is brought in while that line runs.
 *
 *   linework [REPEAT]    calls three_lines() REPEAT times (default 1)
 *
 * three_lines:  line MT:a 8 MiB, MT:b 16 MiB, MT:c 32 MiB (through touch(),
 *               a call), MT:inl 4 MiB (code inlined into three_lines), then
 *               everything is unmapped again.
 * main touches 2 MiB of its own (MT:main), not in any traced function.
 * never_called() is never called.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define MIB (1024UL * 1024UL)
#define NOINLINE __attribute__((noinline))

static volatile char sink;

static char *fresh(size_t mib)
{
    char *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(1);
    madvise(p, mib * MIB, MADV_NOHUGEPAGE);
    return p;
}

NOINLINE char *touch(size_t mib)
{
    char *p = fresh(mib);
    for (size_t off = 0; off < mib * MIB; off += 4096)
        p[off] = 1;
    return p;
}

static inline __attribute__((always_inline)) char *touch_inline(char *p, size_t mib)
{
    for (size_t off = 0; off < mib * MIB; off += 4096)
        p[off] = 2;
    return p;
}

NOINLINE void three_lines(void)
{
    char *spare = fresh(4);
    char *a = touch(8); /* MT:a */
    char *b = touch(16); /* MT:b */
    char *c = touch(32); /* MT:c */
    touch_inline(spare, 4); /* MT:inl */
    sink = a[0] + b[0] + c[0] + spare[0];
    munmap(a, 8 * MIB);
    munmap(b, 16 * MIB);
    munmap(c, 32 * MIB);
    munmap(spare, 4 * MIB);
}

NOINLINE void never_called(void)
{
    char *p = touch(1);
    munmap(p, MIB);
}

int main(int argc, char **argv)
{
    int repeat = argc > 1 ? atoi(argv[1]) : 1;
    char *own = touch(2); /* MT:main */
    for (int i = 0; i < repeat; ++i)
        three_lines();
    if (argc > 2)
        never_called();
    printf("linework: %d calls\n", repeat);
    munmap(own, 2 * MIB);
    return 0;
}
