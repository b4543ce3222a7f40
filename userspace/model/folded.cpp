#include "model/folded.h"

namespace memtrace {

void FoldedStacks::add(const std::vector<std::string> &frames, uint64_t bytes,
                       const std::vector<FrameSource> &sources)
{
    if (frames.empty() || bytes == 0)
        return;
    std::string stack;
    for (const auto &f : frames)
        stack += (stack.empty() ? "" : ";") + f;
    auto [it, added] = by_stack_.try_emplace(std::move(stack));
    if (added) {
        it->second.frames = frames;
        if (sources.size() == frames.size())
            it->second.sources = sources;
    }
    it->second.bytes += bytes;
    total_ += bytes;
}

std::vector<FoldedLine> FoldedStacks::lines() const
{
    std::vector<FoldedLine> out;
    for (const auto &[stack, entry] : by_stack_)
        out.push_back({stack, entry.bytes, entry.frames, entry.sources});
    return out;
}

} // namespace memtrace
