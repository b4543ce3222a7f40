// -f py: the patterns as the kernel side matches them (compiled globs), and the
// Python functions it found: function ids it gave to target code objects,
// named here from the code objects' copies, "qualname (file.py:FIRSTLINE)".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collect/kernel_side.h"
#include "model/functions.h"
#include "python/code_location.h"

namespace memtrace {

// Throws Error (exit 2) for a pattern the kernel side cannot match.
std::vector<mt_py_pattern> kernel_python_patterns(const std::vector<std::string> &names);

// The row name of a Python function: "extract_array (feature_extract.py:12)".
TracedFunction python_function(const PythonCode &code);

class PythonFunctions {
public:
    PythonFunctions(const KernelSide &kernel, uint32_t first_id) : kernel_(kernel), first_(first_id) {}

    // The function with this id (first_id or more), named; nullopt if the
    // kernel side has not given it out.
    std::optional<TracedFunction> function(uint32_t id);
    // Every function found so far, by id.
    std::map<uint32_t, TracedFunction> all();
    // The patterns that name none of the functions found.
    std::vector<std::string> unmatched(const std::vector<std::string> &patterns);

private:
    void refresh();

    const KernelSide &kernel_;
    uint32_t first_;
    std::map<uint32_t, mt_py_code_key> keys_;
    std::map<uint32_t, PythonCode> codes_;
};

} // namespace memtrace
