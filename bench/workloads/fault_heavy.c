/*
 * Benchmark workload, page-fault heavy: maps 64 MiB, touches every page, unmaps,
 * again and again. Nearly all its time is page faults: the worst case for a
 * tracer that runs at every fault.
 *
 *   fault_heavy [TOTAL_MIB]   (default 2048: 524,288 faults)
 *
 * Each chunk goes through three named, non-inlined functions (map_chunk,
 * touch_chunk, unmap_chunk), so `memtrace -f` has real functions to trace.
 * Prints "elapsed_s=S cpu_s=C" on stderr: its own run time and CPU time (user +
 * system, of the whole process), without the tracer's set-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static double clock_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOINLINE char *map_chunk(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

NOINLINE void touch_chunk(volatile char *p, size_t size, size_t page)
{
    for (size_t off = 0; off < size; off += page)
        p[off] = 1;
}

NOINLINE void unmap_chunk(char *p, size_t size)
{
    munmap(p, size);
}

int main(int argc, char **argv)
{
    size_t total = (argc > 1 ? strtoul(argv[1], NULL, 10) : 2048) << 20;
    size_t chunk = (size_t)64 << 20;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    double start = clock_seconds(CLOCK_MONOTONIC);
    double cpu_start = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t done = 0; done < total; done += chunk) {
        char *p = map_chunk(chunk);
        touch_chunk(p, chunk, page);
        unmap_chunk(p, chunk);
    }
    fprintf(stderr, "elapsed_s=%.6f cpu_s=%.6f\n", clock_seconds(CLOCK_MONOTONIC) - start,
            clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start);
    return 0;
}
