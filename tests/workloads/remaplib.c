/* libremaplib.so: code without frame pointers (-O2) that touches pages itself,
 * loaded and unloaded again and again by `unwindwork --remap`: the sampled
 * instruction lies in code mapped a moment before. */
#include <stddef.h>

void remap_touch(volatile char *p, size_t bytes)
{
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = 7;
}
