/*
 * feature_extract: memtrace's bundled demo. Counts features in a synthetic
 * stream of observations, in one of two designs:
 *
 *   feature_extract array [N]   store every observation, then count (memory grows with N)
 *   feature_extract dict  [N]   store each distinct feature once with its count
 *
 * Both print the same top features; memtrace shows how differently they use memory.
 * N defaults to 3,000,000 observations of up to 40,000 distinct features.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISTINCT 40000u

struct entry {
    char *feature;
    uint64_t count;
};

/* A deterministic, skewed stream: feature ids follow a rough power law. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void feature_name(uint64_t id, char *out, size_t size)
{
    snprintf(out, size, "token:%08llx:ngram-%llu", (unsigned long long)(id * 2654435761u),
             (unsigned long long)id);
}

static uint64_t feature_id(uint64_t *state)
{
    uint64_t r = next_random(state) % DISTINCT;
    return (r * r) / DISTINCT; /* skewed toward small ids */
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int by_count(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->feature, y->feature);
}

/* Open addressing: each distinct feature is stored once. */
static struct entry *count_into(struct entry *table, size_t slots, const char *feature)
{
    for (uint64_t i = hash(feature) % slots;; i = (i + 1) % slots) {
        if (!table[i].feature) {
            table[i].feature = strdup(feature);
            if (!table[i].feature) {
                perror("strdup");
                exit(1);
            }
            return &table[i];
        }
        if (!strcmp(table[i].feature, feature))
            return &table[i];
    }
}

static void print_top(struct entry *table, size_t slots, const char *mode, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < slots; i++)
        if (table[i].feature)
            table[used++] = table[i];
    qsort(table, used, sizeof(*table), by_count);
    printf("%s: %zu observations, %zu distinct features; top 3:", mode, n, used);
    for (size_t i = 0; i < 3 && i < used; i++)
        printf(" %s=%llu", table[i].feature, (unsigned long long)table[i].count);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "array") && strcmp(argv[1], "dict"))) {
        fprintf(stderr, "usage: feature_extract array|dict [OBSERVATIONS]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 3000000;
    uint64_t state = 0x9e3779b97f4a7c15ull;
    char name[64];
    size_t slots = DISTINCT * 2;
    struct entry *table = calloc(slots, sizeof(*table));
    if (!table)
        return 1;

    if (!strcmp(argv[1], "array")) {
        /* Keep every observation, then count them: memory grows with the stream. */
        char **observations = malloc(n * sizeof(*observations));
        if (!observations)
            return 1;
        for (size_t i = 0; i < n; i++) {
            feature_name(feature_id(&state), name, sizeof(name));
            observations[i] = strdup(name);
            if (!observations[i])
                return 1;
        }
        for (size_t i = 0; i < n; i++)
            count_into(table, slots, observations[i])->count++;
        for (size_t i = 0; i < n; i++)
            free(observations[i]);
        free(observations);
    } else {
        /* Count as the stream goes: memory grows with the distinct features only. */
        for (size_t i = 0; i < n; i++) {
            feature_name(feature_id(&state), name, sizeof(name));
            count_into(table, slots, name)->count++;
        }
    }
    print_top(table, slots, argv[1], n);
    return 0;
}
