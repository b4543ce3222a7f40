// --stacks peak|end: which touch samples still hold memory at a given moment.
// Each sample stands for the page its fault brought in (and the bytes of
// growth it was weighted with); it stays resident until a range that contains
// its page leaves RSS (munmap, madvise, brk, MAP_FIXED), follows its page
// when the range moves (mremap), and goes when the program execs. A sample
// without a page (growth not from a user fault) stays until exec or the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace memtrace {

// One thing that happened to one process's sampled pages.
struct ResidentEvent {
    enum class Kind : uint8_t { Sample, Gone, Moved, Reset };
    Kind kind = Kind::Sample;
    uint64_t ts_ns = 0;
    uint64_t start = 0;   // Sample: its page (0: none); Gone, Moved: the range's first byte
    uint64_t len = 0;     // Gone, Moved: the range's bytes
    uint64_t to = 0;      // Moved: where the range now starts
    uint64_t new_len = 0; // Moved: its bytes there (shorter: the rest is gone)
    uint32_t sample = 0;  // Sample: the caller's index of the sample
};

class ResidentPages {
public:
    // A sample on `page` (0: no page); a sample already on that page left
    // RSS unseen (reclaimed, or copied on write) and gives way.
    void add(uint64_t page, uint32_t sample);
    void remove(uint64_t start, uint64_t len);
    void move(uint64_t start, uint64_t len, uint64_t to, uint64_t new_len);
    void reset();
    void apply(const ResidentEvent &event);

    std::vector<uint32_t> samples() const; // resident now, tracked then untracked
    size_t size() const { return by_page_.size() + untracked_.size(); }

private:
    std::map<uint64_t, uint32_t> by_page_;
    std::vector<uint32_t> untracked_;
};

// The samples of one process resident just after `cut_ns` (events at that
// instant included), its events replayed in time order (equal times keep
// their order).
std::vector<uint32_t> resident_at(std::vector<ResidentEvent> events, uint64_t cut_ns);

} // namespace memtrace
