#include "collect/stack_naming.h"

#include <iostream>
#include <optional>

#include "collect/line_naming.h"
#include "symbols/elf_file.h"
#include "symbols/symbolizer.h"
#include "unwind/frame_pointers.h"

namespace memtrace {

NamedStacks name_stacks(const StackEvidence &evidence, const TraceConfig &config)
{
    Symbolizer symbolizer(config.debug_dirs);
    std::optional<KernelSymbols> kernel_symbols;
    if (config.kernel_stacks)
        kernel_symbols.emplace();
    StackNamer namer(*evidence.modules, symbolizer, kernel_symbols ? &*kernel_symbols : nullptr);
    namer.set_process_uids(evidence.uids);
    FoldOptions fold;
    fold.per_pid = config.per_pid;
    fold.per_thread = config.per_thread;
    fold.trim_to_frame_pointer_roots = config.unwind == UnwindMode::Auto;
    fold.comm_of = [&](uint32_t pid) {
        auto it = evidence.comms.find(pid);
        return it == evidence.comms.end() ? std::string() : it->second;
    };
    if (config.verbose) // once per process: a JIT's frames unnamed, and why
        for (const auto &[pid, comm] : evidence.comms) {
            std::string path = "/tmp/perf-" + std::to_string(pid) + ".map";
            auto uid = evidence.uids.find(pid);
            if (std::string why = PerfMap::ignored_because(
                    path, uid == evidence.uids.end() ? std::nullopt : std::optional<uid_t>(uid->second));
                !why.empty())
                std::cerr << "memtrace: ignored " << path << ": " << why << '\n';
        }
    NamedStacks named;
    named.folded = fold_stacks(evidence.raw, namer, fold);
    if (evidence.lines) {
        SourceFiles sources(evidence.source_reader);
        named.lines = name_lines(*evidence.lines, symbolizer, sources);
    }
    if (config.unwind == UnwindMode::FramePointers) // the others unwind such code with its CFI
        for (const auto &[open_path, shown] : namer.files_seen()) {
            // unreadable now: it named no frame either
            if (ElfOpen elf = ElfFile::try_open(open_path); elf.file)
                if (detect_frame_pointers(*elf.file) == FramePointers::No)
                    named.without_frame_pointers.push_back(shown);
        }
    return named;
}

} // namespace memtrace
