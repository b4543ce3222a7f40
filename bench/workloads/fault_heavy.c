/*
 * Benchmark workload, page-fault heavy: maps 64 MiB, touches every page, unmaps,
 * again and again. Nearly all its time is page faults: the worst case for a
 * tracer that runs at every fault.
 *
 *   fault_heavy [TOTAL_MIB]   (default 2048: 524,288 faults)
 *
 * Prints "elapsed_s=S" on stderr: its own run time, without the tracer's set-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t total = (argc > 1 ? strtoul(argv[1], NULL, 10) : 2048) << 20;
    size_t chunk = (size_t)64 << 20;
    long page = sysconf(_SC_PAGESIZE);
    double start = now();
    for (size_t done = 0; done < total; done += chunk) {
        volatile char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        for (size_t off = 0; off < chunk; off += (size_t)page)
            p[off] = 1;
        munmap((void *)p, chunk);
    }
    fprintf(stderr, "elapsed_s=%.6f\n", now() - start);
    return 0;
}
