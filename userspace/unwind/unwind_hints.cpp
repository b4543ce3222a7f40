#include "unwind/unwind_hints.h"

#include "symbols/elf_file.h"

namespace memtrace {

FramePointers UnwindHints::of(const ModuleFile &file)
{
    auto [it, fresh] = known_.emplace(&file, FramePointers::Unknown);
    if (fresh) {
        // Unreadable or not ELF: Unknown, whatever the reason.
        if (ElfOpen elf = ElfFile::try_open(file.open_path); elf.file)
            it->second = detect_frame_pointers(*elf.file);
    }
    return it->second;
}

std::vector<UnwindHints::Range> UnwindHints::without_frame_pointers(
    const std::vector<ModuleIndex::Mapping> &mappings)
{
    std::vector<Range> out;
    for (const ModuleIndex::Mapping &m : mappings) {
        // Anonymous code (JIT, vdso) has no CFI either: frame pointers are its best chance.
        if (!m.file || of(*m.file) == FramePointers::Yes)
            continue;
        out.push_back({m.start, m.end});
    }
    return out;
}

} // namespace memtrace
