/*
 * residentwork: memory that leaves RSS in every way --stacks peak|end must
 * follow, along known call paths (frame pointers, no inlining). In order:
 *
 *   transient       32 MiB mmap'd, touched, munmap'd        gone before the peak
 *   heap_grow       16 MiB of brk heap touched; heap_shrink gives it back
 *   advised         12 MiB touched, madvise(MADV_DONTNEED)  gone
 *   overwritten      6 MiB touched, then mmap MAP_FIXED over it: gone
 *   kept            24 MiB touched and kept                 at the peak and the end
 *   remap_source     8 MiB touched, then mremap'd elsewhere (MREMAP_FIXED) and
 *                    grown to 20 MiB: its 8 MiB follow it   at the peak and the end
 *   remap_grow      12 MiB touched in the grown part        at the peak and the end
 *   late_peak       40 MiB touched: the peak; then munmap'd at the peak, not the end
 *
 * Every buffer is mmap'd MADV_NOHUGEPAGE: one fault, one page. At the end it
 * prints the kernel's VmHWM and VmRSS lines (/proc/self/status), then with
 * `--hold MS` sleeps that long (a tracer can be stopped meanwhile).
 *
 *   residentwork --populate   instead: 24 MiB touched by faults (kept), then 8 MiB mapped
 *                             MAP_POPULATE (kept): pages brought in with no user fault
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define NOINLINE __attribute__((noinline))

static volatile char sink;

NOINLINE void touch(char *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 4096)
        p[off] = 1;
    sink = p[0];
}

static char *map(size_t bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(1);
    madvise(p, bytes, MADV_NOHUGEPAGE);
    return p;
}

NOINLINE void transient(void)
{
    char *p = map(32 * MIB);
    touch(p, 32 * MIB);
    munmap(p, 32 * MIB);
}

NOINLINE char *heap_grow(void)
{
    char *p = sbrk(16 * MIB);
    if (p == (void *)-1)
        exit(1);
    touch(p, 16 * MIB);
    return p;
}

NOINLINE void heap_shrink(void)
{
    if (sbrk(-(long)(16 * MIB)) == (void *)-1)
        exit(1);
}

NOINLINE void advised(void)
{
    char *p = map(12 * MIB);
    touch(p, 12 * MIB);
    madvise(p, 12 * MIB, MADV_DONTNEED);
}

NOINLINE void overwritten(void)
{
    char *p = map(6 * MIB);
    touch(p, 6 * MIB);
    if (mmap(p, 6 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
        exit(1);
}

NOINLINE char *kept(void)
{
    char *p = map(24 * MIB);
    touch(p, 24 * MIB);
    return p;
}

NOINLINE char *remap_source(void)
{
    char *p = map(8 * MIB);
    touch(p, 8 * MIB);
    return p;
}

NOINLINE void remap_grow(char *p)
{
    touch(p + 8 * MIB, 12 * MIB);
}

NOINLINE char *remapped(void)
{
    char *src = remap_source();
    char *dst = map(20 * MIB); /* a place to move to: never touched, replaced by the move */
    char *p = mremap(src, 8 * MIB, 20 * MIB, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    if (p != dst)
        exit(1);
    madvise(p, 20 * MIB, MADV_NOHUGEPAGE);
    remap_grow(p);
    return p;
}

NOINLINE void late_peak(void)
{
    char *p = map(40 * MIB);
    touch(p, 40 * MIB);
    munmap(p, 40 * MIB);
}

NOINLINE char *populated(void)
{
    char *p = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    if (p == MAP_FAILED)
        exit(1);
    return p;
}

static void kernel_figures(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmHWM:", 6) || !strncmp(line, "VmRSS:", 6))
            fputs(line, stdout);
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--populate")) {
        char *k = kept();
        char *p = populated();
        sink = k[0] + p[0];
        kernel_figures();
        return 0;
    }
    transient();
    heap_grow();
    heap_shrink();
    advised();
    overwritten();
    char *k = kept();
    char *r = remapped();
    late_peak();
    sink = k[0] + r[0];
    kernel_figures();
    fflush(stdout);
    if (argc == 3 && !strcmp(argv[1], "--hold"))
        usleep((useconds_t)atoi(argv[2]) * 1000);
    return 0;
}
