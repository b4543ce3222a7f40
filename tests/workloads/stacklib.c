/* libstacklib.so: a shared library on stackwork's call paths (frames in a
 * library found by build-id, in a PIE process). */
#include <stddef.h>

static volatile char sink;

__attribute__((noinline)) void lib_touch(char *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 4096)
        p[off] = 2;
    sink = p[0];
}
