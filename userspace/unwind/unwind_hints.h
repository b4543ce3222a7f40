// --unwind auto: which of a process's code has no frame pointers. The kernel
// side walks a stack by frame pointers when the sampled instruction is in
// code with them (cheap, aggregated in the kernel) and copies it for DWARF
// unwinding when it is not (GCC's -O2 default, Debian's libc and python3).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "unwind/frame_pointers.h"
#include "symbols/module_index.h"

namespace memtrace {

class UnwindHints {
public:
    struct Range {
        uint64_t start = 0, end = 0;
    };
    // The ranges of `mappings` whose files lack frame pointers (or are not
    // known to have them), in map order.
    std::vector<Range> without_frame_pointers(const std::vector<ModuleIndex::Mapping> &mappings);
    // Files the module index lets go.
    void forget_files(const std::set<const ModuleFile *> &files)
    {
        for (const ModuleFile *file : files)
            known_.erase(file);
    }

private:
    FramePointers of(const ModuleFile &file);
    std::map<const ModuleFile *, FramePointers> known_; // each file looked at once
};

} // namespace memtrace
