/*
 * Benchmark workload for the cost of one probed call, by the first instruction
 * the entry probe lands on (which decides how the kernel handles the probe):
 *
 *   nop5_fn   starts with a 5-byte nop: the kernel's optimized path
 *   push_fn   starts with push %rbx: emulated
 *   lea_fn    starts with lea: single-stepped out of line
 *
 * Each ends with ret (a return-site probe, single-stepped).
 *   probe_cost CALLS    calls each function CALLS times; prints ns per call per function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__asm__(".text\n"
        ".globl nop5_fn\n.type nop5_fn,@function\n"
        "nop5_fn:\n .byte 0x0f,0x1f,0x44,0x00,0x00\n lea 1(%rdi),%rax\n ret\n"
        ".size nop5_fn,.-nop5_fn\n"
        ".globl push_fn\n.type push_fn,@function\n"
        "push_fn:\n push %rbx\n lea 1(%rdi),%rax\n pop %rbx\n ret\n"
        ".size push_fn,.-push_fn\n"
        ".globl lea_fn\n.type lea_fn,@function\n"
        "lea_fn:\n lea 1(%rdi),%rax\n ret\n"
        ".size lea_fn,.-lea_fn\n");

long nop5_fn(long);
long push_fn(long);
long lea_fn(long);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 20000;
    long (*fns[])(long) = {nop5_fn, push_fn, lea_fn};
    const char *names[] = {"nop5_fn", "push_fn", "lea_fn"};
    long x = 0;
    for (int f = 0; f < 3; f++) {
        double start = now();
        for (long i = 0; i < calls; i++)
            x = fns[f](x);
        printf("%s %.1f\n", names[f], (now() - start) / (double)calls * 1e9);
    }
    return x == 3 * calls ? 0 : 1;
}
