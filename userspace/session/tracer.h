// One tracing session: validates the targets, loads and attaches the BPF side,
// runs or watches the targets until they end (or -d, or a signal), and returns
// what was gathered as plain data.
#pragma once

#include "cli/options.h"
#include "model/run_report.h"
#include "model/timeline.h"

#include <optional>

namespace memtrace {

struct TraceOutcome {
    RunReport report;
    std::optional<Recording> recording; // --timeline
    int exit_code = 0; // the command's status (128 + signal), or 0 with -p / -a
};

// Throws Error for bad input or failed set-up, with nothing left attached.
TraceOutcome run_trace(const Options &options);

} // namespace memtrace
