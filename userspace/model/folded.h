// Folded stacks: "root;frame;...;leaf BYTES", the format flamegraph.pl,
// inferno, speedscope and Pyroscope read. Identical stacks are merged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/line_table.h"

namespace memtrace {

struct FoldedLine {
    std::string stack; // frames joined by ';', root first
    uint64_t bytes = 0;
};

class FoldedStacks {
public:
    // `frames` root first; each must be free of ';' and newlines (folded_safe).
    void add(const std::vector<std::string> &frames, uint64_t bytes);
    std::vector<FoldedLine> lines() const; // sorted by stack
    uint64_t total() const { return total_; }
    size_t size() const { return by_stack_.size(); }

private:
    std::map<std::string, uint64_t> by_stack_;
    uint64_t total_ = 0;
};

// Folded stacks as the symbolizer named them.
struct NamedStacks {
    FoldedStacks folded;
    std::vector<std::string> without_frame_pointers; // files whose stacks stop short (fp)
    std::vector<FunctionLines> lines; // --lines: per traced function
};

} // namespace memtrace
