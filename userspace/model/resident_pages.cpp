#include "model/resident_pages.h"

#include <algorithm>

namespace memtrace {

void ResidentPages::add(uint64_t page, uint32_t sample)
{
    if (page)
        by_page_[page] = sample;
    else
        untracked_.push_back(sample);
}

void ResidentPages::remove(uint64_t start, uint64_t len)
{
    const uint64_t end = start + len < start ? UINT64_MAX : start + len;
    by_page_.erase(by_page_.lower_bound(start), by_page_.lower_bound(end));
}

void ResidentPages::move(uint64_t start, uint64_t len, uint64_t to, uint64_t new_len)
{
    const uint64_t kept = std::min(len, new_len);
    std::vector<std::pair<uint64_t, uint32_t>> moving;
    for (auto it = by_page_.lower_bound(start); it != by_page_.end() && it->first - start < kept; ++it)
        moving.emplace_back(it->first - start + to, it->second);
    remove(start, len); // what moved, and what did not fit the new size
    remove(to, new_len); // mremap unmaps whatever lay at the destination
    for (const auto &[page, sample] : moving)
        by_page_[page] = sample;
}

void ResidentPages::reset()
{
    by_page_.clear();
    untracked_.clear();
}

void ResidentPages::apply(const ResidentEvent &e)
{
    switch (e.kind) {
    case ResidentEvent::Kind::Sample: add(e.start, e.sample); break;
    case ResidentEvent::Kind::Gone: remove(e.start, e.len); break;
    case ResidentEvent::Kind::Moved: move(e.start, e.len, e.to, e.new_len); break;
    case ResidentEvent::Kind::Reset: reset(); break;
    }
}

std::vector<uint32_t> ResidentPages::samples() const
{
    std::vector<uint32_t> out;
    out.reserve(size());
    for (const auto &[page, sample] : by_page_)
        out.push_back(sample);
    out.insert(out.end(), untracked_.begin(), untracked_.end());
    return out;
}

std::vector<uint32_t> resident_at(std::vector<ResidentEvent> events, uint64_t cut_ns)
{
    std::stable_sort(events.begin(), events.end(),
                     [](const ResidentEvent &a, const ResidentEvent &b) { return a.ts_ns < b.ts_ns; });
    ResidentPages pages;
    for (const ResidentEvent &e : events) {
        if (e.ts_ns > cut_ns)
            break;
        pages.apply(e);
    }
    return pages.samples();
}

} // namespace memtrace
