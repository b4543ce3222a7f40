// --debug-cache: where compressed debug files are kept uncompressed, for the run.
#include "commands/commands.h"
#include "symbols/debug_cache.h"

namespace memtrace {

void use_debug_cache(const Options &options)
{
    set_debug_cache_dir(options.debug_cache.value_or(default_debug_cache_dir()));
}

} // namespace memtrace
