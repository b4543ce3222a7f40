/*
 * memwork: a workload whose memory behaviour is known by construction.
 *
 *   memwork [--wait] [--hold MS] MODE MIB [THREADS]
 *
 *   spike MIB       mmap MIB, touch every page, munmap: a short peak, then nothing
 *   burst MIB       mmap MIB with MAP_POPULATE and munmap it at once: a peak that
 *                   lasts microseconds (no sampler can see it)
 *   keep MIB        malloc MIB, touch it, keep it until exit
 *   brk MIB         many small mallocs (256 B each) from the heap (brk), kept
 *   mmap MIB        mmap 1 MiB chunks, touch them, keep them
 *   threads MIB T   T threads each malloc and touch MIB/T at once (and --hold it),
 *                   kept until joined
 *   forkexec MIB    fork; the child execs `memwork keep MIB`; the parent waits
 *   execchain MIB SMALL  malloc and touch MIB, then exec `memwork keep SMALL` (same
 *                   process): a bigger program replaced by a smaller one. Its
 *                   report before the exec goes to <pid>.before-exec
 *   sigkill MIB     malloc and touch MIB, then SIGKILL itself
 *   idle MIB        touch MIB, then sleep until killed (for -p / -a tests)
 *   dropped MIB     mmap MIB, touch every page, munmap, then sleep until killed:
 *                   a peak far above what it holds while it lives (--listen tests)
 *
 *   --wait      read a line from stdin before starting (lets a tracer attach first)
 *   --hold MS   keep the memory MS milliseconds before finishing
 *   --align MS  start just after a multiple of MS on the monotonic clock: the
 *               boundary of memtrace's timeline intervals of MS (--resolution MS)
 *
 * Ground truth: with MEMWORK_REPORT_DIR set, the kernel's own figures for this
 * process (VmHWM, VmPeak, VmRSS from /proc/self/status) are written to
 * $MEMWORK_REPORT_DIR/<pid> just before it ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static long g_page;
static int g_hold_ms;
static int g_align_ms;

/* Sleeps until 2% into the next interval of g_align_ms milliseconds. */
static void align(void)
{
    if (g_align_ms <= 0)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long interval = (long long)g_align_ms * 1000000LL;
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    long long wait = interval - ns % interval + interval / 50;
    struct timespec ts = {(time_t)(wait / 1000000000LL), (long)(wait % 1000000000LL)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void die(const char *what)
{
    fprintf(stderr, "memwork: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void touch(volatile char *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += (size_t)g_page)
        p[off] = 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Copies the kernel's own VmHWM / VmPeak / VmRSS lines for the tests, to
 * <pid><suffix>. */
static void report_as(const char *suffix)
{
    const char *dir = getenv("MEMWORK_REPORT_DIR");
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%d%s", dir, (int)getpid(), suffix);
    FILE *in = fopen("/proc/self/status", "r");
    FILE *out = fopen(path, "w");
    if (!in || !out)
        die("report");
    char line[256];
    while (fgets(line, sizeof(line), in))
        if (!strncmp(line, "VmHWM:", 6) || !strncmp(line, "VmPeak:", 7) ||
            !strncmp(line, "VmRSS:", 6))
            fputs(line, out);
    fclose(in);
    fclose(out);
}

static void report(void)
{
    report_as("");
}

static void hold(void)
{
    if (g_hold_ms > 0)
        sleep_ms(g_hold_ms);
}

static void *thread_alloc(void *arg)
{
    size_t bytes = *(size_t *)arg;
    char *p = malloc(bytes);
    if (!p)
        die("malloc");
    touch(p, bytes);
    hold(); /* the threads stay alive, holding their memory */
    return p; /* freed by main after join */
}

int main(int argc, char **argv)
{
    g_page = sysconf(_SC_PAGESIZE);
    int i = 1;
    int wait_stdin = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--wait"))
            wait_stdin = 1;
        else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
            g_hold_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--align") && i + 1 < argc)
            g_align_ms = atoi(argv[++i]);
        else
            break;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: memwork [--wait] [--hold MS] [--align MS] "
                        "spike|burst|keep|brk|mmap|threads|forkexec|execchain|sigkill|idle|dropped MIB [THREADS|SMALL]\n");
        return 2;
    }
    const char *mode = argv[i];
    size_t bytes = strtoul(argv[i + 1], NULL, 10) * MIB;

    if (wait_stdin) {
        char line[16];
        if (!fgets(line, sizeof(line), stdin))
            return 3;
    }

    if (!strcmp(mode, "spike")) {
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("mmap");
        touch(p, bytes);
        hold();
        munmap(p, bytes);
        sleep_ms(50); /* after the spike: a poller would see only this */
    } else if (!strcmp(mode, "dropped")) {
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("mmap");
        touch(p, bytes);
        munmap(p, bytes);
        for (;;)
            pause();
    } else if (!strcmp(mode, "burst")) {
        align();
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            die("mmap");
        munmap(p, bytes);
        sleep_ms(50);
    } else if (!strcmp(mode, "keep") || !strcmp(mode, "sigkill") || !strcmp(mode, "idle")) {
        char *p = malloc(bytes);
        if (!p)
            die("malloc");
        touch(p, bytes);
        hold();
        if (!strcmp(mode, "sigkill")) {
            report();
            raise(SIGKILL);
        }
        if (!strcmp(mode, "idle"))
            for (;;)
                pause();
    } else if (!strcmp(mode, "brk")) {
        size_t n = bytes / 256;
        for (size_t k = 0; k < n; k++) {
            char *p = malloc(256 - 16); /* 240 B + 16 B malloc header: 256 B of heap */
            if (!p)
                die("malloc");
            memset(p, 1, 240);
        }
        hold();
    } else if (!strcmp(mode, "mmap")) {
        for (size_t done = 0; done < bytes; done += MIB) {
            char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                die("mmap");
            touch(p, MIB);
        }
        hold();
    } else if (!strcmp(mode, "threads")) {
        int nthreads = argc - i > 2 ? atoi(argv[i + 2]) : 4;
        if (nthreads < 1 || nthreads > 64)
            nthreads = 4;
        size_t each = bytes / (size_t)nthreads;
        pthread_t tids[64];
        void *mem[64];
        for (int t = 0; t < nthreads; t++)
            if (pthread_create(&tids[t], NULL, thread_alloc, &each))
                die("pthread_create");
        for (int t = 0; t < nthreads; t++)
            pthread_join(tids[t], &mem[t]);
        report(); /* before the frees: VmRSS still holds the threads' memory */
        for (int t = 0; t < nthreads; t++)
            free(mem[t]);
        return 0;
    } else if (!strcmp(mode, "execchain")) {
        char *p = malloc(bytes);
        if (!p)
            die("malloc");
        touch(p, bytes);
        hold();
        report_as(".before-exec");
        char self[4096];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len <= 0)
            die("readlink");
        self[len] = 0;
        execl(self, "memwork", "keep", argc - i > 2 ? argv[i + 2] : "1", (char *)NULL);
        die("exec");
    } else if (!strcmp(mode, "forkexec")) {
        pid_t child = fork();
        if (child < 0)
            die("fork");
        if (child == 0) {
            char mib[32];
            snprintf(mib, sizeof(mib), "%zu", bytes / MIB);
            char self[4096];
            ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
            if (len <= 0)
                _exit(127);
            self[len] = 0; /* exec by real path: comm stays "memwork" */
            execl(self, "memwork", "keep", mib, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        if (waitpid(child, &status, 0) < 0)
            die("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 4;
    } else {
        fprintf(stderr, "memwork: unknown mode '%s'\n", mode);
        return 2;
    }
    report();
    return 0;
}
