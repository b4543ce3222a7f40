// --lines while tracing: each stack sample's bytes and RSS go to the traced
// functions on its stack, at the innermost frame of each (native: by the
// function's address range in its file; Python: frames whose code a py:
// pattern names). Native frames stay (file, offset) until the naming stage
// turns them into lines (collect/line_naming.h); Python ones have their line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "collect/python_targets.h"
#include "collect/records.h"
#include "model/functions.h"
#include "model/line_table.h"
#include "symbols/elf_file.h"
#include "symbols/module_index.h"
#include "symbols/stack_namer.h"

namespace memtrace {

// A sample's frames, leaf first (RawUserFrame::File frames are placed).
struct LineSample {
    uint32_t pid = 0;
    const std::vector<RawUserFrame> *native = nullptr;
    const std::vector<PyFrameRef> *python = nullptr;
    uint64_t bytes = 0;
    uint64_t rss_pages = 0; // the process's RSS when the sample was taken
};

// What the samples gave, for the naming stage.
struct LineEvidence {
    std::vector<TracedFunction> functions; // native, by id
    std::vector<std::string> python_patterns;
    // (pid, function id, file, offset looked up) -> samples there
    std::map<std::tuple<uint32_t, uint32_t, const ModuleFile *, uint64_t>, LineTally> native;
    struct PythonFunction {
        std::string qualname, filename;
        int firstlineno = 0;
        std::map<int, LineTally> lines; // line -1: not known
    };
    // (pid, filename, firstlineno, qualname) -> its lines
    std::map<std::tuple<uint32_t, std::string, int, std::string>, PythonFunction> python;
};

class LineSampler {
public:
    LineSampler(std::vector<TracedFunction> functions, std::vector<std::string> python_patterns,
                uint64_t page_size);
    void add(const LineSample &sample, PythonTargets *python);
    const LineEvidence &evidence() const { return evidence_; }

private:
    void add_native(const LineSample &sample);
    void add_python(const LineSample &sample, PythonTargets &python);
    // The ids of the functions in `file` (by device and inode), and its layout.
    struct FileFunctions {
        std::vector<uint32_t> ids;
        std::optional<ElfFile> elf;
    };
    const FileFunctions &functions_in(const ModuleFile &file);

    LineEvidence evidence_;
    uint64_t page_size_;
    std::map<const ModuleFile *, FileFunctions> files_;
};

} // namespace memtrace
