#include "collect/resident_stacks.h"

namespace memtrace {

void ResidentRanges::add(const RangeRecord &r)
{
    ResidentEvent e;
    e.ts_ns = r.ts_ns;
    e.start = r.start;
    e.len = r.len;
    e.to = r.to;
    e.new_len = r.new_len;
    switch (r.kind) {
    case MT_RANGE_GONE: e.kind = ResidentEvent::Kind::Gone; break;
    case MT_RANGE_MOVED: e.kind = ResidentEvent::Kind::Moved; break;
    case MT_RANGE_RESET: e.kind = ResidentEvent::Kind::Reset; break;
    default: return;
    }
    by_pid_[r.pid].push_back(e);
    ++count_;
}

uint64_t ResidentRanges::keep_resident(std::vector<RawStackSample> &samples,
                                       const std::map<uint32_t, uint64_t> &cut_ns) const
{
    std::map<uint32_t, std::vector<ResidentEvent>> events;
    for (uint32_t i = 0; i < samples.size(); ++i) {
        ResidentEvent e;
        e.kind = ResidentEvent::Kind::Sample;
        e.ts_ns = samples[i].ts_ns;
        e.start = samples[i].page;
        e.sample = i;
        events[samples[i].tgid].push_back(e);
    }
    std::vector<RawStackSample> kept;
    uint64_t untracked = 0;
    for (auto &[pid, list] : events) {
        if (auto r = by_pid_.find(pid); r != by_pid_.end())
            list.insert(list.begin(), r->second.begin(), r->second.end()); // ranges first at equal times
        auto cut = cut_ns.find(pid);
        for (uint32_t i : resident_at(std::move(list), cut == cut_ns.end() ? UINT64_MAX : cut->second)) {
            kept.push_back(samples[i]);
            if (!samples[i].page)
                untracked += samples[i].bytes;
        }
    }
    samples = std::move(kept);
    return untracked;
}

} // namespace memtrace
