// --list-funcs: the functions a pattern would trace, without tracing.
#include <cstdlib>

#include "collect/procfs.h"
#include "commands/commands.h"
#include "commands/function_list.h"
#include "session/functions.h"
#include "session/preflight.h"

namespace memtrace {

int list_functions(const Options &options, std::ostream &out)
{
    ProcFs procfs;
    std::string executable;
    std::vector<pid_t> pids;
    if (options.trace.mode == TraceMode::Pids) {
        std::vector<std::string> notes;
        pids = resolve_pids(options.trace.pids, procfs, notes);
    } else {
        const char *path_env = getenv("PATH");
        executable = resolve_command(options.trace.command.front(), path_env ? path_env : "");
    }
    // List past --max-probes, so users see how far over a pattern goes.
    TraceConfig listing = options.trace;
    listing.max_probes = 1000000;
    std::vector<FunctionProbe> probes =
        plan_functions({options.list_funcs}, listing, executable, pids, procfs);
    write_function_list(out, probes, options.trace.max_probes);
    return 0;
}

} // namespace memtrace
