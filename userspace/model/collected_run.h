// What the collector gathered in one run, in model types: the input of the
// build stage (model/run_builder.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/functions.h"
#include "model/process.h"
#include "model/run_report.h"
#include "model/timeline.h"

namespace memtrace {

enum class StopCause { TargetsEnded, Signal, Duration };

struct Stop {
    StopCause cause = StopCause::TargetsEnded;
    int signal = 0; // for StopCause::Signal
};

// The command memtrace ran, as the session left it.
struct CommandEnd {
    uint32_t pid = 0;
    bool reaped = false;   // ended and waited for
    int wait_status = 0;   // as wait(2) encodes it, when reaped
    uint64_t maxrss_bytes = 0; // its ru_maxrss, when reaped
};

struct CollectedRun {
    std::vector<uint32_t> pids;             // -p targets
    std::optional<CommandEnd> command;      // -- CMD
    Stop stop;
    double duration_s = 0;
    std::vector<ProcessRecord> processes;   // ended, then live
    std::vector<ProgramGroup> unlisted_programs; // -a: of ended processes not kept in `processes`
    FunctionInputs functions;
    size_t probes_attached = 0;
    TraceStats stats;
    TotalPeak total_peak;
    SelfCost cost;
    std::optional<Recording> recording;     // --timeline: points and marks as they came
    // --folded: how the stacks were unwound
    uint64_t stacks_by_dwarf = 0;
    std::map<std::string, uint64_t> stacks_cut_short; // by reason
    bool stack_copy_too_short = false;
    uint64_t stacks_untracked = 0; // --stacks peak|end: resident bytes of samples without a page
};

} // namespace memtrace
