// -f for programs exec'd later (collect/exec_functions.h): the patterns that
// matched nothing at start, the kernel side told which file names to hold
// execs for, and at each held exec the program planned, probed and resumed.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "collect/exec_functions.h"
#include "model/progress.h"
#include "model/trace_config.h"
#include "probes/probe_planner.h"

namespace memtrace {

class BpfLoader;

class ExecProbes final : public ExecFunctions {
public:
    // `probe_pids`: where probes attach (empty: every process; the kernel
    // side counts only traced ones). `command`: the program memtrace runs,
    // searched already (its exec is not held).
    ExecProbes(BpfLoader &loader, std::vector<WaitingPattern> waiting, const TraceConfig &config,
               std::vector<pid_t> probe_pids, const std::string &command, Progress &progress);

    std::vector<TracedFunction> held_exec(uint32_t pid, uint32_t first_id) override;
    void stop_holding() override;
    std::vector<std::string> never_matched() const override;

private:
    struct Waiting {
        FunctionPattern pattern;
        std::vector<std::string> programs; // where it matched
        bool failed = false;               // its module was exec'd, with no such function
    };
    std::vector<TracedFunction> probe_program(uint32_t pid, uint32_t first_id);

    BpfLoader &loader_;
    std::vector<Waiting> waiting_;
    const TraceConfig &config_;
    std::vector<pid_t> probe_pids_;
    Progress &progress_;
    std::set<std::string> searched_; // "pattern\nfile identity": planned once per file
};

// The names of the files whose execs are held: each waiting pattern's
// MODULE's file name, "" (any program) for a pattern without MODULE.
std::vector<std::string> hold_names(const std::vector<WaitingPattern> &waiting);

} // namespace memtrace
