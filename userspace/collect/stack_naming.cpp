#include "collect/stack_naming.h"

#include <iostream>
#include <optional>

#include "collect/line_naming.h"
#include "symbols/elf_file.h"
#include "unwind/frame_pointers.h"

namespace memtrace {

StackNaming::StackNaming(std::shared_ptr<ModuleIndex> modules, const TraceConfig &config)
    : modules_(std::move(modules)), config_(config), symbolizer_(config.debug_dirs),
      kernel_symbols_(config.kernel_stacks ? std::make_optional<KernelSymbols>() : std::nullopt),
      namer_(*modules_, symbolizer_, kernel_symbols_ ? &*kernel_symbols_ : nullptr)
{
}

void StackNaming::add(const RawStacks &raw, const std::map<uint32_t, std::string> &comms,
                      const std::map<uint32_t, uid_t> &uids)
{
    for (const auto &[pid, uid] : uids)
        namer_.set_process_uid(pid, uid);
    FoldOptions fold;
    fold.per_pid = config_.per_pid;
    fold.per_thread = config_.per_thread;
    fold.trim_to_frame_pointer_roots = config_.unwind == UnwindMode::Auto;
    fold.comm_of = [&](uint32_t pid) {
        auto it = comms.find(pid);
        return it == comms.end() ? std::string() : it->second;
    };
    if (config_.verbose) // once per process: a JIT's frames unnamed, and why
        for (const auto &[pid, comm] : comms) {
            std::string path = "/tmp/perf-" + std::to_string(pid) + ".map";
            auto uid = uids.find(pid);
            if (std::string why = PerfMap::ignored_because(
                    path, uid == uids.end() ? std::nullopt : std::optional<uid_t>(uid->second));
                !why.empty())
                std::cerr << "memtrace: ignored " << path << ": " << why << '\n';
        }
    fold_stacks(raw, namer_, fold, named_.folded);
    note_files_seen();
}

// --unwind fp: the files frames were named in that lack frame pointers (their
// stacks stop short), looked at while they are still open.
void StackNaming::note_files_seen()
{
    for (const auto &[open_path, shown] : namer_.take_files_seen()) {
        if (config_.unwind != UnwindMode::FramePointers || without_frame_pointers_.count(shown))
            continue; // the others unwind such code with its CFI
        if (ElfOpen elf = ElfFile::try_open(open_path); elf.file) // unreadable: it named no frame
            if (detect_frame_pointers(*elf.file) == FramePointers::No)
                without_frame_pointers_.insert(shown);
    }
}

void StackNaming::forget_processes(const std::set<uint32_t> &pids)
{
    for (uint32_t pid : pids)
        namer_.forget_process(static_cast<pid_t>(pid));
}

void StackNaming::forget_files(const std::set<const ModuleFile *> &files)
{
    note_files_seen();
    namer_.forget_files(files);
}

NamedStacks StackNaming::finish(const StackEvidence &rest)
{
    add(rest.raw, rest.comms, rest.uids);
    if (rest.lines) {
        SourceFiles sources(rest.source_reader);
        named_.lines = name_lines(*rest.lines, symbolizer_, sources);
    }
    named_.without_frame_pointers.assign(without_frame_pointers_.begin(), without_frame_pointers_.end());
    return std::move(named_);
}

NamedStacks name_stacks(const StackEvidence &evidence, const TraceConfig &config)
{
    if (evidence.naming)
        return evidence.naming->finish(evidence);
    return StackNaming(evidence.modules, config).finish(evidence);
}

} // namespace memtrace
