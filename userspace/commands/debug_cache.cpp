// --debug-cache: where compressed debug files are kept uncompressed, for the run.
#include "commands/commands.h"
#include "error.h"
#include "symbols/debug_cache.h"

namespace memtrace {

// A directory given that cannot be used is an error at start; the default one
// is only said to be unusable if a debug file needs it (a cache is optional).
void use_debug_cache(const Options &options)
{
    if (options.debug_cache && !options.debug_cache->empty() && !usable_debug_cache_dir(*options.debug_cache))
        throw Error("--debug-cache '" + *options.debug_cache +
                    "': cannot be made, is not a directory, or is not yours alone (others may write "
                    "to it): give a directory only you can write to, or none");
    set_debug_cache_dir(options.debug_cache.value_or(default_debug_cache_dir()));
}

} // namespace memtrace
