/*
 * stackwork: memory brought in along known call paths, for --folded tests.
 * Built with -fno-omit-frame-pointer and no inlining, so its own frames are
 * all in the stacks (libc's are not: Debian builds it without frame pointers,
 * which is why the pages are touched here, not by memset).
 *
 *   stackwork [--lib MIB] [--jit MIB] [--unlink-self] [--hold MS] [--wait] TABLE_MIB INDEX_MIB
 *
 * main -> load_table -> fill              touches TABLE_MIB (malloc'd)
 * main -> build_index -> grow -> fill     touches INDEX_MIB (mmap'd, in 1 MiB steps)
 * main -> use_library -> lib_touch        touches MIB in libstacklib.so's code (--lib)
 * main -> run_jit -> jit_fill             touches MIB from generated code named only
 *                                         by /tmp/perf-PID.map (--jit)
 * --unlink-self deletes its own binary first: frames must still be named.
 * --wait reads a line from stdin before allocating (lets a tracer attach).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define NOINLINE __attribute__((noinline))

static volatile char sink;

NOINLINE void fill(char *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 4096)
        p[off] = 1;
    sink = p[0];
}

NOINLINE char *load_table(size_t mib)
{
    char *p = malloc(mib * MIB);
    if (!p)
        exit(1);
    fill(p, mib * MIB);
    return p;
}

NOINLINE void grow(char *base, size_t done)
{
    fill(base + done, MIB);
}

NOINLINE char *build_index(size_t mib)
{
    char *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(1);
    for (size_t done = 0; done < mib * MIB; done += MIB)
        grow(p, done);
    return p;
}

void lib_touch(char *p, size_t bytes); /* libstacklib.so */

NOINLINE void use_library(size_t mib)
{
    char *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(1);
    lib_touch(p, mib * MIB);
}

/* jit_fill(p, bytes), as a JIT would emit it, with a frame:
 *   push %rbp; mov %rsp,%rbp; xor %eax,%eax
 * loop: cmp %rsi,%rax; jae end; movb $1,(%rdi,%rax); add $0x1000,%rax; jmp loop
 * end: pop %rbp; ret */
static const uint8_t jit_code[] = {
    0x55, 0x48, 0x89, 0xe5, 0x31, 0xc0,             /* 0x00 */
    0x48, 0x39, 0xf0, 0x73, 0x0c,                   /* 0x06 loop */
    0xc6, 0x04, 0x07, 0x01,                         /* 0x0b */
    0x48, 0x05, 0x00, 0x10, 0x00, 0x00,             /* 0x0f */
    0xeb, 0xef,                                     /* 0x15: jmp 0x06 */
    0x5d, 0xc3,                                     /* 0x17 end */
};

NOINLINE void run_jit(size_t mib)
{
    void *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    char *data = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED || data == MAP_FAILED)
        exit(1);
    memcpy(code, jit_code, sizeof(jit_code));
    char path[64];
    snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
    FILE *map = fopen(path, "w");
    if (!map)
        exit(1);
    fprintf(map, "%lx %zx jit_fill\n", (unsigned long)(uintptr_t)code, sizeof(jit_code));
    fclose(map);
    void (*jit_fill)(char *, size_t) = (void (*)(char *, size_t))code;
    jit_fill(data, mib * MIB);
}

int main(int argc, char **argv)
{
    size_t lib_mib = 0, jit_mib = 0;
    int hold_ms = 0, wait_stdin = 0;
    int arg = 1;
    for (; arg < argc && argv[arg][0] == '-'; arg++) {
        if (!strcmp(argv[arg], "--lib") && arg + 1 < argc)
            lib_mib = strtoul(argv[++arg], NULL, 10);
        else if (!strcmp(argv[arg], "--jit") && arg + 1 < argc)
            jit_mib = strtoul(argv[++arg], NULL, 10);
        else if (!strcmp(argv[arg], "--hold") && arg + 1 < argc)
            hold_ms = atoi(argv[++arg]);
        else if (!strcmp(argv[arg], "--wait"))
            wait_stdin = 1;
        else if (!strcmp(argv[arg], "--unlink-self")) {
            char self[4096];
            ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
            if (n <= 0)
                return 1;
            self[n] = 0;
            unlink(self);
        }
    }
    if (argc - arg < 2) {
        fprintf(stderr, "usage: stackwork [--lib MIB] [--jit MIB] [--unlink-self] [--hold MS] "
                        "TABLE_MIB INDEX_MIB\n");
        return 2;
    }
    if (wait_stdin) {
        char line[16];
        if (!fgets(line, sizeof(line), stdin))
            return 3;
    }
    char *table = load_table(strtoul(argv[arg], NULL, 10));
    char *index = build_index(strtoul(argv[arg + 1], NULL, 10));
    if (lib_mib)
        use_library(lib_mib);
    if (jit_mib)
        run_jit(jit_mib);
    sink = table[0] + index[0];
    if (hold_ms)
        usleep((useconds_t)hold_ms * 1000);
    return 0;
}
