// The symbolization stage of stacks: the samples the collector gathered,
// their frames named and folded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collect/line_samples.h"
#include "model/folded.h"
#include "model/trace_config.h"
#include "symbols/module_index.h"
#include "symbols/source_file.h"
#include "symbols/stack_folding.h"

namespace memtrace {

// What the collector gathered for naming stacks: the samples, and the files
// the traced processes mapped (kept open: named even after they exited).
struct StackEvidence {
    RawStacks raw;
    std::shared_ptr<ModuleIndex> modules;
    std::map<uint32_t, std::string> comms; // process names by pid
    std::optional<LineEvidence> lines;      // --lines
    std::optional<SourceReader> source_reader; // who may see source text (sudo's invoker)
    std::map<uint32_t, uid_t> uids;         // the user each ran as, noted while it lived
};

// The symbolization stage: frames to names (symbols, debug files, kernel
// symbols), folded as the options ask.
NamedStacks name_stacks(const StackEvidence &evidence, const TraceConfig &config);

} // namespace memtrace
