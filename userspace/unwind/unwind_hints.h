// --unwind auto: which of a process's code has no frame pointers. The kernel
// side walks a stack by frame pointers when the sampled instruction is in
// code with them (cheap, aggregated in the kernel) and copies it for DWARF
// unwinding when it is not (GCC's -O2 default, Debian's libc and python3).
#pragma once

#include <map>

#include "memtrace/abi.h"
#include "unwind/frame_pointers.h"
#include "symbols/module_index.h"

namespace memtrace {

class UnwindHints {
public:
    // The ranges of `mappings` whose files lack frame pointers (or are not
    // known to have them); dwarf_all when they do not fit.
    mt_unwind_hint for_process(const std::vector<ModuleIndex::Mapping> &mappings);

private:
    FramePointers of(const ModuleFile &file);
    std::map<const ModuleFile *, FramePointers> known_; // each file looked at once
};

} // namespace memtrace
