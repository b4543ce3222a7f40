#include "session/functions.h"

#include <cstdlib>

#include "error.h"
#include "memtrace/abi.h"
#include "report/function_list.h"
#include "session/preflight.h"
#include "session/procfs.h"
#include "probes/function_pattern.h"
#include "symbols/modules.h"

namespace memtrace {

std::vector<FunctionProbe> plan_functions(const std::vector<std::string> &patterns,
                                          const Options &options, const std::string &executable,
                                          const std::vector<pid_t> &pids, const ProcFs &procfs)
{
    PlanRequest req;
    for (const auto &text : patterns)
        for (auto &p : parse_function_patterns(text))
            req.patterns.push_back(std::move(p));
    req.debug_dirs = options.debug_dirs;
    req.max_probes = options.max_probes;

    std::string ld_library_path;
    if (!executable.empty()) {
        const char *env = getenv("LD_LIBRARY_PATH");
        ld_library_path = env ? env : "";
        req.modules = program_modules(executable, LibrarySearch::from_environment(ld_library_path));
    }
    for (pid_t pid : pids) {
        if (auto env = procfs.environ_value(pid, "LD_LIBRARY_PATH"))
            ld_library_path = *env;
        for (Module &m : process_modules(pid)) {
            bool known = false;
            for (const Module &have : req.modules)
                known |= have.path == m.path;
            if (!known)
                req.modules.push_back(std::move(m));
        }
    }
    req.search = LibrarySearch::from_environment(ld_library_path);
    return plan_function_probes(req);
}

int list_functions(const Options &options, std::ostream &out)
{
    ProcFs procfs;
    std::string executable;
    std::vector<pid_t> pids;
    if (options.mode == TraceMode::Pids) {
        std::vector<std::string> notes;
        pids = resolve_pids(options.pids, procfs, notes);
    } else {
        const char *path_env = getenv("PATH");
        executable = resolve_command(options.command.front(), path_env ? path_env : "");
    }
    // List past --max-probes, so users see how far over a pattern goes.
    Options listing = options;
    listing.max_probes = 1000000;
    std::vector<FunctionProbe> probes =
        plan_functions({options.list_funcs}, listing, executable, pids, procfs);
    write_function_list(out, probes, options.max_probes);
    return 0;
}

std::vector<ProbeSite> probe_sites(const std::vector<FunctionProbe> &probes)
{
    std::vector<ProbeSite> sites;
    for (const FunctionProbe &p : probes) {
        std::string label = "'" + (p.demangled.empty() ? p.symbol : p.demangled) + "'";
        uint64_t entry_kind = p.entry_is_tailcall ? MT_PROBE_ENTRY_TAILCALL : MT_PROBE_ENTRY;
        sites.push_back({p.attach_path, p.entry_offset, MT_COOKIE(entry_kind, p.id), true,
                         label + " (entry)"});
        for (uint64_t off : p.return_offsets)
            sites.push_back({p.attach_path, off, MT_COOKIE(MT_PROBE_RETURN, p.id), false,
                             label + " (return)"});
        for (uint64_t off : p.tailcall_offsets)
            sites.push_back({p.attach_path, off, MT_COOKIE(MT_PROBE_TAILCALL, p.id), false,
                             label + " (tail call)"});
        for (uint64_t off : p.retaddr_offsets)
            sites.push_back({p.attach_path, off, MT_COOKIE(MT_PROBE_RETADDR, p.id), false,
                             label + " (return address)"});
    }
    return sites;
}

std::vector<TracedFunction> traced_functions(const std::vector<FunctionProbe> &probes)
{
    std::vector<TracedFunction> out;
    for (const FunctionProbe &p : probes)
        out.push_back({p.symbol, p.demangled, p.module, probe_cost_us(p.entry_insn),
                       probe_cost_us(ProbeInsn::SingleStep)});
    return out;
}

} // namespace memtrace
