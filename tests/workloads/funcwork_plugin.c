/* libfuncwork_plugin.so: loaded by `funcwork dlopen` after it started, to test
 * probes on a library that was not mapped when memtrace attached. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void plugin_alloc(size_t mib)
{
    char *p = malloc(mib << 20);
    if (!p)
        abort();
    memset(p, 1, mib << 20);
    __asm__ volatile("" ::"r"(p) : "memory"); /* the writes stay: the compiler sees p used */
    free(p); /* a transient peak of MIB inside the call */
}
