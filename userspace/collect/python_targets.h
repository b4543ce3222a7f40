// Python processes among the traced ones: found in their mappings (the file
// holding CPython's runtime), registered with the kernel side so their stack
// samples carry Python frames, and those frames named from the code objects
// the kernel side copied ("qualname (file.py:LINE)").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "collect/kernel_side.h"
#include "collect/records.h"
#include "model/progress.h"
#include "python/code_location.h"
#include "python/interpreter.h"
#include "symbols/elf_file.h"
#include "symbols/module_index.h"
#include "symbols/stack_namer.h"

namespace memtrace {

class PythonTargets {
public:
    PythonTargets(KernelSide &kernel, Progress &progress) : kernel_(kernel), progress_(progress) {}

    // After each reading of a process's executable mappings. Without stack
    // copies (--unwind fp) a Python process is only told about, once.
    void examine(uint32_t pid, const std::vector<ModuleIndex::Mapping> &mappings, bool copies);
    // A sample's Python frames, innermost first, as named frames; `truncated`:
    // the chain went on past the frames read (a marker frame stands for the rest).
    std::vector<RawUserFrame> frames(uint32_t pid, const std::vector<PyFrameRef> &refs,
                                     bool truncated = false);
    size_t processes() const { return processes_; }
    bool registered(uint32_t pid) const
    {
        auto it = registered_.find(pid);
        return it != registered_.end() && it->second.first != 0;
    }
    // The process exec'd: the kernel side dropped its interpreter; the new
    // program's is registered anew, even at the same address (no ASLR). The
    // layout stays for the copies taken before the exec, and the process is
    // counted once.
    void program_changed(uint32_t pid)
    {
        if (auto it = registered_.find(pid); it != registered_.end())
            it->second.first = 0; // no runtime
    }
    // A process that ended: its code objects' names go.
    void forget(uint32_t pid);
    // Files the module index lets go.
    void forget_files(const std::set<const ModuleFile *> &files)
    {
        for (const ModuleFile *file : files)
            files_.erase(file);
    }
    // A frame's code object (nullptr: not named), and the line it is at
    // (-1: not known): for --lines.
    const PythonCode *code(uint32_t pid, const PyFrameRef &ref);
    int line(uint32_t pid, const PyFrameRef &ref);
    bool met_unsupported() const { return !warned_.empty(); }
    // -f py: without --folded: say what an unsupported version costs that.
    void for_functions_only() { functions_only_ = true; }

private:
    struct Interpreter {
        std::optional<PythonBinary> binary;
        std::optional<PythonLayout> layout;
        std::vector<LoadSegment> segments;
    };
    const Interpreter &interpreter_in(const ModuleFile &file);
    uint32_t call_instr(uint32_t pid, uint32_t instr) const;
    void unsupported(const ModuleFile &file, const PythonVersion &version);

    KernelSide &kernel_;
    Progress &progress_;
    std::map<const ModuleFile *, Interpreter> files_; // each file looked at once
    std::map<uint32_t, std::pair<uint64_t, PythonLayout>> registered_; // pid -> runtime, layout
    std::map<std::tuple<uint32_t, uint64_t, uint64_t>, std::optional<PythonCode>> codes_; // pid, code, names
    std::set<std::string> warned_; // versions said to be unsupported
    size_t processes_ = 0;         // registered, ever
    bool told_fp_ = false;         // --unwind fp: said once that Python frames need copies
    bool functions_only_ = false;  // -f py: without --folded
};

// The kernel side's copy of a code object as text (UTF-8).
PythonCode python_code_of(const mt_py_code &copy);

} // namespace memtrace
