/*
 * unwindwork: memory brought in by libc's memset, called along known paths,
 * for --unwind tests. Built twice with GCC -O2: without frame pointers (GCC's
 * default: unwindwork) and with them (unwindwork-fp). Either way the pages
 * are touched inside Debian's libc, which has no frame pointers: only DWARF
 * unwinding names the function that called memset.
 *
 *   unwindwork [--deep DEPTH] [--lib] [--inline] [--remap ROUNDS] CLEAR_MIB WIPE_MIB
 *
 * main -> prepare -> clear_table -> memset           CLEAR_MIB (mmap'd)
 * main -> wipe_index -> memset                       WIPE_MIB (mmap'd)
 * main -> lib_clear (libunwindlib.so) -> memset      1 MiB per --lib... (--lib: 16 MiB)
 * main -> descend (DEPTH times, 1 KiB frames) -> touch_bottom -> memset   8 MiB (--deep)
 * main -> stamp -> stamp_pages (inlined) -> memset  8 MiB (--inline)
 * main -> remap -> remap_touch (libremaplib.so, dlopen'd each round)   256 KiB per round (--remap)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <dlfcn.h>
#include <stdint.h>
#include <time.h>

#define MIB (1024UL * 1024UL)
#define NOINLINE __attribute__((noinline))

void lib_clear(char *p, size_t bytes); /* libunwindlib.so */

static char *map(size_t bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

static volatile char sink;

NOINLINE void clear_table(char *p, size_t bytes)
{
    memset(p, 1, bytes);
    sink = p[bytes - 1];
}

NOINLINE void prepare(size_t mib)
{
    char *p = map(mib * MIB);
    clear_table(p, mib * MIB);
    sink = p[0];
}

NOINLINE void wipe_index(size_t mib)
{
    char *p = map(mib * MIB);
    memset(p, 2, mib * MIB);
    sink = p[mib * MIB - 1];
}

NOINLINE void touch_bottom(void)
{
    char *p = map(8 * MIB);
    memset(p, 3, 8 * MIB);
    sink = p[8 * MIB - 1];
}

static inline __attribute__((always_inline)) void stamp_pages(char *p, size_t bytes)
{
    memset(p, 5, bytes);
    sink = p[bytes - 1];
}

NOINLINE void stamp(void)
{
    char *p = map(8 * MIB);
    stamp_pages(p, 8 * MIB);
    sink = p[0];
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Loads libremaplib.so (next to this program), touches 256 KiB with its code,
 * unloads it, and pauses without faulting: over and over. */
NOINLINE void remap(const char *self, int rounds)
{
    char lib[4096];
    const char *slash = strrchr(self, '/');
    snprintf(lib, sizeof(lib), "%.*slibremaplib.so", slash ? (int)(slash - self + 1) : 0, self);
    for (int i = 0; i < rounds; i++) {
        void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            fprintf(stderr, "unwindwork: %s\n", dlerror());
            exit(1);
        }
        void (*touch)(volatile char *, size_t) = (void (*)(volatile char *, size_t))dlsym(handle, "remap_touch");
        if (!touch) {
            fprintf(stderr, "unwindwork: %s\n", dlerror());
            exit(1);
        }
        touch(map(256 * 1024), 256 * 1024);
        dlclose(handle);
        /* fill the hole it leaves: the next round's copy lands elsewhere */
        if (mmap(NULL, 64 * 1024, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
            perror("mmap");
            exit(1);
        }
        uint64_t until = now_ns() + 200000; /* 0.2 ms without a fault */
        while (now_ns() < until)
            ;
    }
}

/* 1 KiB of stack per level: DEPTH levels need DEPTH KiB of stack copy */
NOINLINE void descend(int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    if (depth > 0)
        descend(depth - 1);
    else
        touch_bottom();
    sink = frame[0];
}

int main(int argc, char **argv)
{
    int deep = -1, lib = 0, inl = 0, rounds = 0, arg = 1;
    for (; arg < argc && argv[arg][0] == '-'; ++arg) {
        if (strcmp(argv[arg], "--deep") == 0 && arg + 1 < argc)
            deep = atoi(argv[++arg]);
        else if (strcmp(argv[arg], "--lib") == 0)
            lib = 1;
        else if (strcmp(argv[arg], "--inline") == 0)
            inl = 1;
        else if (strcmp(argv[arg], "--remap") == 0 && arg + 1 < argc)
            rounds = atoi(argv[++arg]);
        else
            break;
    }
    if (argc - arg != 2) {
        fprintf(stderr, "usage: unwindwork [--deep DEPTH] [--lib] [--inline] [--remap ROUNDS] CLEAR_MIB WIPE_MIB\n");
        return 2;
    }
    prepare(strtoul(argv[arg], NULL, 10));
    wipe_index(strtoul(argv[arg + 1], NULL, 10));
    if (lib)
        lib_clear(map(16 * MIB), 16 * MIB);
    if (deep >= 0)
        descend(deep);
    if (inl)
        stamp();
    if (rounds > 0)
        remap(argv[0], rounds);
    return 0;
}
