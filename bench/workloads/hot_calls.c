/*
 * Benchmark workload: a hot function whose calls and work per call are known
 * by construction.
 *
 *   hot_calls SECONDS SPINS   calls hot_work() for SECONDS of its own time, each
 *                             call spinning SPINS iterations; prints
 *                             "calls N ns_per_call X cpu_ns_per_call Y" (wall and
 *                             CPU time, the kernel's handling of probes included, / calls).
 *
 * hot_work (gcc -O2) starts with a mov and returns with ret: both probes are
 * single-stepped, as in most functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

__attribute__((noinline)) long hot_work(long spins)
{
    volatile long x = 0;
    for (long i = 0; i < spins; ++i)
        x = x + i;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hot_calls SECONDS SPINS\n");
        return 2;
    }
    const double seconds = atof(argv[1]);
    const long spins = atol(argv[2]);
    const double start = now_s(), cpu_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    long calls = 0;
    long sink = 0;
    /* a fixed number of calls per time check: the clock is read every 64 calls */
    while (now_s() - start < seconds)
        for (int i = 0; i < 64; ++i, ++calls)
            sink += hot_work(spins);
    const double elapsed = now_s() - start, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    printf("calls %ld ns_per_call %.1f cpu_ns_per_call %.1f sink %ld\n", calls, elapsed * 1e9 / (double)calls,
           cpu * 1e9 / (double)calls, sink & 1);
    return 0;
}
