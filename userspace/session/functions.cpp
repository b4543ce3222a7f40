#include "session/functions.h"

#include <cstdlib>

#include "error.h"
#include "session/preflight.h"
#include "collect/procfs.h"
#include "probes/function_pattern.h"
#include "python/interpreter.h"
#include "symbols/elf_file.h"
#include "symbols/modules.h"

namespace memtrace {

namespace {

// A CPython interpreter among the modules (the program, or its libpython).
bool runs_python(const std::vector<Module> &modules)
{
    for (const Module &m : modules) {
        if (python_version_of_name(m.path))
            return true;
        if (ElfOpen elf = ElfFile::try_open(m.open_path); elf.file && find_python(*elf.file))
            return true;
    }
    return false;
}

} // namespace

std::vector<FunctionProbe> plan_functions(const std::vector<std::string> &patterns,
                                          const TraceConfig &config, const std::string &executable,
                                          const std::vector<pid_t> &pids, const ProcFs &procfs,
                                          std::vector<WaitingPattern> *pending)
{
    PlanRequest req;
    for (const auto &text : patterns)
        for (auto &p : parse_function_patterns(text))
            req.patterns.push_back(std::move(p));
    req.debug_dirs = config.debug_dirs;
    req.max_probes = config.max_probes;

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
    try {
        return plan_function_probes(req, pending);
    } catch (const Error &e) {
        const std::string what = e.what();
        if (what.rfind("no function matches", 0) != 0 || !runs_python(req.modules))
            throw;
        throw Error(what + ". This is a Python program: for a Python function, write -f 'py:NAME' "
                           "(a qualname, MODULE.QUALNAME, or a glob: -f 'py:extract_*')",
                    e.exit_code());
    }
}

void check_python_pids(const std::string &pattern, const std::vector<pid_t> &pids)
{
    for (pid_t pid : pids)
        if (runs_python(process_modules(pid)))
            return;
    std::string list;
    for (pid_t pid : pids)
        list += (list.empty() ? "" : ",") + std::to_string(pid);
    throw Error("-f py:" + pattern + ": pid " + list +
                " runs no Python interpreter; py: traces functions of CPython programs "
                "(for native functions: -f NAME without py:)");
}

std::vector<ProbeSite> probe_sites(const std::vector<FunctionProbe> &probes)
{
    std::vector<ProbeSite> sites;
    for (const FunctionProbe &p : probes) {
        std::string label = "'" + (p.demangled.empty() ? p.symbol : p.demangled) + "'";
        sites.push_back({p.attach_path, p.entry_offset,
                         p.entry_is_tailcall ? ProbeKind::EntryTailcall : ProbeKind::Entry, p.id,
                         label + " (entry)"});
        for (uint64_t off : p.return_offsets)
            sites.push_back({p.attach_path, off, ProbeKind::Return, p.id, label + " (return)"});
        for (uint64_t off : p.tailcall_offsets)
            sites.push_back({p.attach_path, off, ProbeKind::Tailcall, p.id, label + " (tail call)"});
        for (uint64_t off : p.retaddr_offsets)
            sites.push_back({p.attach_path, off, ProbeKind::ReturnAddress, p.id,
                             label + " (return address)"});
    }
    return sites;
}

std::vector<TracedFunction> traced_functions(const std::vector<FunctionProbe> &probes, const TrapCosts &traps)
{
    std::vector<TracedFunction> out;
    for (const FunctionProbe &p : probes) {
        TracedFunction f;
        f.symbol = p.symbol;
        f.demangled = p.demangled;
        f.module = p.module;
        f.entry_cost_us = probe_cost_us(p.entry_insn);
        f.return_cost_us = probe_cost_us(ProbeInsn::SingleStep);
        f.entry_trap_us = traps.of(p.entry_insn);
        f.return_trap_us = traps.ret_us;
        f.file = p.attach_path;
        f.address = p.address;
        f.size = p.size;
        out.push_back(std::move(f));
    }
    return out;
}

} // namespace memtrace
