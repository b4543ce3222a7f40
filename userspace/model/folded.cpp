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
    if (added && sources.size() == frames.size()) {
        it->second.sources.reserve(sources.size());
        for (const FrameSource &s : sources) {
            auto [id, fresh] = source_ids_.try_emplace({s.module, s.build_id, s.offset, s.file, s.line},
                                                       static_cast<uint32_t>(sources_.size()));
            if (fresh)
                sources_.push_back(id->first);
            it->second.sources.push_back(id->second);
        }
    }
    it->second.bytes += bytes;
    total_ += bytes;
}

std::vector<FoldedLine> FoldedStacks::lines() const
{
    std::vector<FoldedLine> out;
    for (const auto &[stack, entry] : by_stack_) {
        FoldedLine line{stack, entry.bytes, {}, {}};
        for (size_t start = 0;;) { // frames hold no ';' (folded_safe)
            size_t end = stack.find(';', start);
            line.frames.push_back(stack.substr(start, end == std::string::npos ? end : end - start));
            if (end == std::string::npos)
                break;
            start = end + 1;
        }
        for (uint32_t id : entry.sources) {
            const auto &[module, build_id, offset, file, at] = sources_[id];
            line.sources.push_back({module, build_id, offset, file, at});
        }
        out.push_back(std::move(line));
    }
    return out;
}

} // namespace memtrace
