// -f for a target: which files to search, the probe plan, and the probe sites.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "collect/kernel_side.h"
#include "model/functions.h"
#include "model/trace_config.h"
#include "probes/probe_planner.h"

namespace memtrace {

class ProcFs;

// The functions `patterns` name in the target: a program about to run
// (`executable`), or running processes (`pids`). Throws Error with advice.
// With `pending`, patterns that may name a program exec'd later wait there.
std::vector<FunctionProbe> plan_functions(const std::vector<std::string> &patterns,
                                          const TraceConfig &config, const std::string &executable,
                                          const std::vector<pid_t> &pids, const ProcFs &procfs,
                                          std::vector<WaitingPattern> *pending = nullptr);

// -f py: on -p PIDs none of which runs CPython: throws Error (exit 2) saying so.
void check_python_pids(const std::string &pattern, const std::vector<pid_t> &pids);

// Every probe site of the plan: each function's entry, returns and tail calls.
std::vector<ProbeSite> probe_sites(const std::vector<FunctionProbe> &probes);

// What the model needs of each planned function, by id, with the trap cost
// of its probes.
std::vector<TracedFunction> traced_functions(const std::vector<FunctionProbe> &probes,
                                             const TrapCosts &traps = {});

} // namespace memtrace
