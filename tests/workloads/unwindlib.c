/* libunwindlib.so: a shared library (-O2, no frame pointers) whose function
 * clears memory with libc's memset, for the --unwind tests. */
#include <stddef.h>
#include <string.h>

static volatile char sink;

__attribute__((noinline)) void lib_clear(char *p, size_t bytes)
{
    memset(p, 4, bytes);
    sink = p[bytes - 1];
}
