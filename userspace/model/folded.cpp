#include "model/folded.h"

#include <algorithm>

namespace memtrace {

void FoldedStacks::add(const std::vector<std::string> &frames, uint64_t bytes,
                       const std::vector<FrameSource> &sources)
{
    if (frames.empty() || bytes == 0)
        return;
    std::vector<uint32_t> ids;
    ids.reserve(frames.size());
    for (const auto &f : frames) {
        auto [id, fresh] = frame_ids_.try_emplace(f, static_cast<uint32_t>(frames_.size()));
        if (fresh)
            frames_.push_back(f);
        ids.push_back(id->second);
    }
    auto [it, added] = by_stack_.try_emplace(std::move(ids));
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

void FoldedStacks::join(const std::vector<uint32_t> &ids, std::string &text) const
{
    text.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i)
            text += ';';
        text += frames_[ids[i]];
    }
}

// Does a's text ("f0;f1;...") sort before b's? Compared frame by frame
// without joining them: where one frame's name is a prefix of the other's,
// what follows it in its text (';', or the end) decides.
bool FoldedStacks::text_less(const std::vector<uint32_t> &a, const std::vector<uint32_t> &b) const
{
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (a[i] == b[i])
            continue;
        const std::string &x = frames_[a[i]], &y = frames_[b[i]];
        const size_t n = std::min(x.size(), y.size());
        if (int c = x.compare(0, n, y, 0, n); c != 0)
            return c < 0;
        if (x.size() < y.size()) // a's text goes on with ';' or ends there
            return i + 1 == a.size() || static_cast<unsigned char>(';') < static_cast<unsigned char>(y[n]);
        return i + 1 != b.size() && static_cast<unsigned char>(x[n]) < static_cast<unsigned char>(';');
    }
    return a.size() < b.size();
}

std::vector<const FoldedStacks::Stacks::value_type *> FoldedStacks::sorted() const
{
    std::vector<const Stacks::value_type *> out;
    out.reserve(by_stack_.size());
    for (const auto &entry : by_stack_)
        out.push_back(&entry);
    std::sort(out.begin(), out.end(), [this](const auto *a, const auto *b) { return text_less(a->first, b->first); });
    return out;
}

std::vector<FoldedLine> FoldedStacks::lines() const
{
    std::vector<FoldedLine> out;
    for (const auto *entry : sorted()) {
        FoldedLine line{"", entry->second.bytes, {}, {}};
        join(entry->first, line.stack);
        for (uint32_t id : entry->first)
            line.frames.push_back(frames_[id]);
        for (uint32_t id : entry->second.sources) {
            const auto &[module, build_id, offset, file, at] = sources_[id];
            line.sources.push_back({module, build_id, offset, file, at});
        }
        out.push_back(std::move(line));
    }
    return out;
}

} // namespace memtrace
