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

mt_unwind_hint UnwindHints::for_process(const std::vector<ModuleIndex::Mapping> &mappings)
{
    mt_unwind_hint hint{};
    for (const ModuleIndex::Mapping &m : mappings) {
        // Anonymous code (JIT, vdso) has no CFI either: frame pointers are its best chance.
        if (!m.file || of(*m.file) == FramePointers::Yes)
            continue;
        if (hint.n == MT_HINT_RANGES) {
            hint.dwarf_all = 1;
            break;
        }
        hint.start[hint.n] = m.start;
        hint.end[hint.n] = m.end;
        ++hint.n;
    }
    return hint;
}

} // namespace memtrace
