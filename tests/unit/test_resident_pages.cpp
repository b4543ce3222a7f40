// --stacks peak|end: the replay of samples and ranges (model/resident_pages.h).
#include <catch2/catch.hpp>

#include <algorithm>

#include "model/resident_pages.h"

using namespace memtrace;

namespace {

using Kind = ResidentEvent::Kind;

ResidentEvent sample(uint64_t ts, uint64_t page, uint32_t id)
{
    ResidentEvent e;
    e.kind = Kind::Sample;
    e.ts_ns = ts;
    e.start = page;
    e.sample = id;
    return e;
}

ResidentEvent gone(uint64_t ts, uint64_t start, uint64_t len)
{
    ResidentEvent e;
    e.kind = Kind::Gone;
    e.ts_ns = ts;
    e.start = start;
    e.len = len;
    return e;
}

ResidentEvent moved(uint64_t ts, uint64_t start, uint64_t len, uint64_t to, uint64_t new_len)
{
    ResidentEvent e = gone(ts, start, len);
    e.kind = Kind::Moved;
    e.to = to;
    e.new_len = new_len;
    return e;
}

std::vector<uint32_t> sorted(std::vector<uint32_t> v)
{
    std::sort(v.begin(), v.end());
    return v;
}

} // namespace

TEST_CASE("resident pages: a range leaving RSS takes exactly its samples", "[resident]")
{
    ResidentPages pages;
    pages.add(0x1000, 1);
    pages.add(0x2000, 2);
    pages.add(0x3000, 3);
    pages.remove(0x2000, 0x1000); // [0x2000, 0x3000): only sample 2
    CHECK(sorted(pages.samples()) == std::vector<uint32_t>{1, 3});
    pages.remove(0, UINT64_MAX); // an end past the address space does not wrap
    CHECK(pages.samples().empty());
}

TEST_CASE("resident pages: samples without a page stay until exec", "[resident]")
{
    ResidentPages pages;
    pages.add(0, 7);
    pages.add(0x5000, 8);
    pages.remove(0, UINT64_MAX);
    CHECK(pages.samples() == std::vector<uint32_t>{7});
    pages.apply([] { ResidentEvent e; e.kind = Kind::Reset; return e; }());
    CHECK(pages.samples().empty());
}

TEST_CASE("resident pages: a second sample on a page replaces the first", "[resident]")
{
    ResidentPages pages;
    pages.add(0x4000, 1); // reclaimed unseen, then brought back by another stack
    pages.add(0x4000, 2);
    CHECK(pages.samples() == std::vector<uint32_t>{2});
}

TEST_CASE("resident pages: mremap moves samples, drops what no longer fits", "[resident]")
{
    ResidentPages pages;
    pages.add(0x10000, 1);
    pages.add(0x11000, 2);
    pages.add(0x12000, 3);
    pages.add(0x50000, 9); // at the destination: mremap unmaps it
    pages.move(0x10000, 0x3000, 0x50000, 0x2000); // moved and shrunk: sample 3 is gone
    CHECK(sorted(pages.samples()) == std::vector<uint32_t>{1, 2});
    pages.remove(0x10000, 0x3000); // the old place holds nothing now
    CHECK(pages.size() == 2);
    pages.remove(0x51000, 0x1000); // the samples live at the new place
    CHECK(pages.samples() == std::vector<uint32_t>{1});
}

TEST_CASE("resident pages: overlapping move (mremap into its own range)", "[resident]")
{
    ResidentPages pages;
    pages.add(0x10000, 1);
    pages.add(0x11000, 2);
    pages.move(0x10000, 0x2000, 0x11000, 0x2000);
    pages.remove(0x10000, 0x1000);
    CHECK(sorted(pages.samples()) == std::vector<uint32_t>{1, 2});
    pages.remove(0x12000, 0x1000);
    CHECK(pages.samples() == std::vector<uint32_t>{1});
}

TEST_CASE("resident_at: replayed in time order up to the cut", "[resident]")
{
    // arrival order is not time order: two ring buffers, several CPUs
    std::vector<ResidentEvent> events = {
        gone(30, 0x1000, 0x1000),  // frees sample 1, after the peak at 25
        sample(10, 0x1000, 1),
        sample(20, 0x2000, 2),
        gone(15, 0x2000, 0x1000),  // before sample 2 came: takes nothing
        sample(40, 0x3000, 3),
    };
    CHECK(sorted(resident_at(events, 25)) == std::vector<uint32_t>{1, 2});
    CHECK(sorted(resident_at(events, UINT64_MAX)) == std::vector<uint32_t>{2, 3});
    CHECK(resident_at(events, 20) == std::vector<uint32_t>{1, 2}); // events at the cut count
    CHECK(resident_at(events, 5).empty());
    CHECK(resident_at({}, 100).empty());
}

TEST_CASE("resident_at: a moved page is freed at its new place", "[resident]")
{
    std::vector<ResidentEvent> events = {sample(1, 0x10000, 1), sample(2, 0x11000, 2),
                                         moved(3, 0x10000, 0x2000, 0x80000, 0x4000),
                                         gone(4, 0x10000, 0x2000), gone(5, 0x81000, 0x1000)};
    CHECK(sorted(resident_at(events, 4)) == std::vector<uint32_t>{1, 2});
    CHECK(resident_at(events, 5) == std::vector<uint32_t>{1});
}

TEST_CASE("resident_at: exec ends the previous program's samples", "[resident]")
{
    ResidentEvent reset;
    reset.kind = Kind::Reset;
    reset.ts_ns = 50;
    std::vector<ResidentEvent> events = {sample(10, 0x1000, 1), sample(20, 0, 2), reset,
                                         sample(60, 0x1000, 3)};
    CHECK(sorted(resident_at(events, 40)) == std::vector<uint32_t>{1, 2});
    CHECK(resident_at(events, 100) == std::vector<uint32_t>{3});
}
