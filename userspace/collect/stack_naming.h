// The symbolization stage of stacks: the samples the collector gathered,
// their frames named and folded. Under -a it runs as the trace goes, on the
// samples of processes that ended (their files can then be let go), and on
// the rest at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collect/line_samples.h"
#include "model/folded.h"
#include "model/trace_config.h"
#include "symbols/module_index.h"
#include "symbols/source_file.h"
#include "symbols/stack_folding.h"
#include "symbols/symbolizer.h"

namespace memtrace {

class StackNaming;

// What the collector gathered for naming stacks: the samples, and the files
// the traced processes mapped (kept open: named even after they exited).
struct StackEvidence {
    RawStacks raw;
    std::shared_ptr<ModuleIndex> modules;
    std::map<uint32_t, std::string> comms; // process names by pid
    std::optional<LineEvidence> lines;      // --lines
    std::optional<SourceReader> source_reader; // who may see source text (sudo's invoker)
    std::map<uint32_t, uid_t> uids;         // the user each ran as, noted while it lived
    // -a: the naming that ran as processes ended, with what it folded so far.
    std::shared_ptr<StackNaming> naming;
};

class StackNaming {
public:
    StackNaming(std::shared_ptr<ModuleIndex> modules, const TraceConfig &config);

    // Names the samples of `raw` and adds them to the folded stacks: `comms`
    // and `uids` of their processes.
    void add(const RawStacks &raw, const std::map<uint32_t, std::string> &comms,
             const std::map<uint32_t, uid_t> &uids);
    // -a: processes whose samples were added and that are gone: what naming
    // kept for them goes.
    void forget_processes(const std::set<uint32_t> &pids);
    // Files the module index is about to let go: what was read of them goes.
    void forget_files(const std::set<const ModuleFile *> &files);

    // Names what is left (the samples of `rest`) and the lines.
    NamedStacks finish(const StackEvidence &rest);

private:
    void note_files_seen();

    std::shared_ptr<ModuleIndex> modules_;
    const TraceConfig &config_;
    Symbolizer symbolizer_;
    std::optional<KernelSymbols> kernel_symbols_;
    StackNamer namer_;
    NamedStacks named_;
    std::set<std::string> without_frame_pointers_; // paths shown
};

// Names every sample of `evidence` (with evidence.naming, after those it named).
NamedStacks name_stacks(const StackEvidence &evidence, const TraceConfig &config);

} // namespace memtrace
