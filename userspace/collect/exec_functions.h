// -f patterns that wait for a program a traced process execs later (its MODULE
// was nowhere at start, or a bare pattern matched nothing yet). The session
// finds and probes them (session/exec_probes.h); the collector calls it at
// each exec the kernel side held for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/functions.h"

namespace memtrace {

class ExecFunctions {
public:
    virtual ~ExecFunctions() = default;
    // `pid` exec'd a program a pattern may name and was stopped before its
    // first instruction: probes the functions the patterns name in it (ids
    // from `first_id` on), resumes it, and returns them. Never throws.
    virtual std::vector<TracedFunction> held_exec(uint32_t pid, uint32_t first_id) = 0;
    // The end: execs are no longer held (those held meanwhile still come).
    virtual void stop_holding() = 0;
    // One line per pattern that matched no program, with what to try.
    virtual std::vector<std::string> never_matched() const = 0;
};

} // namespace memtrace
