/*
 * Benchmark workload: a server-like loop handling requests (about 1 ms of work
 * each), each parsing a request and building a response in fresh memory:
 * three functions called at a realistic rate for -f.
 *
 *   requests N    handles N requests; prints elapsed_s on stderr
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOINLINE unsigned long parse_request(const char *text, size_t len)
{
    unsigned long h = 5381;
    for (int round = 0; round < 200; round++)
        for (size_t i = 0; i < len; i++)
            h = h * 33 + (unsigned char)text[i] + (unsigned long)round;
    return h;
}

NOINLINE char *build_response(unsigned long key, size_t size)
{
    char *out = malloc(size);
    if (!out)
        abort();
    for (size_t i = 0; i < size; i++)
        out[i] = (char)(key >> (i % 56));
    return out;
}

NOINLINE unsigned long handle_request(unsigned long id)
{
    char request[4096];
    int len = snprintf(request, sizeof(request), "GET /items/%lu?fields=name,price,stock", id);
    memset(request + len, 'x', sizeof(request) - (size_t)len);
    unsigned long key = parse_request(request, sizeof(request));
    char *response = build_response(key, 64 * 1024);
    unsigned long sum = 0;
    for (size_t i = 0; i < 64 * 1024; i += 64)
        sum += (unsigned char)response[i];
    free(response);
    return sum;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 3000;
    unsigned long total = 0;
    double start = now();
    for (long i = 0; i < n; i++)
        total += handle_request((unsigned long)i);
    fprintf(stderr, "elapsed_s=%.6f checksum=%lu\n", now() - start, total);
    return 0;
}
