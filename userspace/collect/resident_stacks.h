// --stacks peak|end: the touch samples of each process, replayed with the
// ranges that left RSS or moved, keep only those still resident at the
// process's cut (its peak, or its end).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "collect/records.h"
#include "model/resident_pages.h"
#include "symbols/stack_folding.h"

namespace memtrace {

class ResidentRanges {
public:
    void add(const RangeRecord &range);
    size_t size() const { return count_; }

    // Replaces `samples` (every sample taken) by those resident at their
    // process's cut (ktime; absent: the end). Returns the resident bytes of
    // samples without a page (growth not from a user fault).
    uint64_t keep_resident(std::vector<RawStackSample> &samples,
                           const std::map<uint32_t, uint64_t> &cut_ns) const;

private:
    std::map<uint32_t, std::vector<ResidentEvent>> by_pid_;
    size_t count_ = 0;
};

} // namespace memtrace
