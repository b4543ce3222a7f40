// The build stage: what the collector gathered becomes the run's report (the
// figures the writers print), its recording, and memtrace's exit code.
#pragma once

#include <optional>

#include "model/collected_run.h"
#include "model/folded.h"
#include "model/run_report.h"
#include "model/timeline.h"
#include "model/trace_config.h"

namespace memtrace {

struct RunResult {
    RunReport report;
    std::optional<Recording> recording; // --timeline; its `report` is the writers' to fill
    int exit_code = 0; // the command's status (128 + signal), or 0 with -p / -a
};

RunResult build_run(CollectedRun run, std::optional<NamedStacks> stacks, const TraceConfig &config);

} // namespace memtrace
