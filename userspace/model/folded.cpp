#include "model/folded.h"

namespace memtrace {

void FoldedStacks::add(const std::vector<std::string> &frames, uint64_t bytes)
{
    if (frames.empty() || bytes == 0)
        return;
    std::string stack;
    for (const auto &f : frames)
        stack += (stack.empty() ? "" : ";") + f;
    by_stack_[stack] += bytes;
    total_ += bytes;
}

std::vector<FoldedLine> FoldedStacks::lines() const
{
    std::vector<FoldedLine> out;
    for (const auto &[stack, bytes] : by_stack_)
        out.push_back({stack, bytes});
    return out;
}

} // namespace memtrace
