#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "model/folded.h"

using namespace memtrace;

TEST_CASE("folded stacks: listed as their texts sort, whatever the frames' names hold")
{
    // names one character either side of ';' (':' 0x3a, '<' 0x3c), prefixes of
    // one another, digits, spaces and UTF-8: where frame-by-frame order and text
    // order part ways if done wrong
    const std::vector<std::string> names = {"a", "a:b", "a<b", "ab", "a b", "a0", "", "é", "a:", "main"};
    std::mt19937 rng(7);
    FoldedStacks folded;
    std::map<std::string, uint64_t> want; // text -> bytes, sorted as std::string sorts
    for (int i = 0; i < 3000; ++i) {
        std::vector<std::string> frames(1 + rng() % 4);
        for (auto &f : frames)
            f = names[rng() % names.size()];
        const uint64_t bytes = 1 + rng() % 100;
        folded.add(frames, bytes);
        std::string text;
        for (size_t f = 0; f < frames.size(); ++f)
            text += (f ? ";" : "") + frames[f];
        want[text] += bytes;
    }
    std::vector<std::pair<std::string, uint64_t>> got;
    folded.each([&](const std::string &text, uint64_t bytes) { got.emplace_back(text, bytes); });
    CHECK(got == std::vector<std::pair<std::string, uint64_t>>(want.begin(), want.end()));
    CHECK(folded.size() == want.size());

    const std::vector<FoldedLine> lines = folded.lines();
    REQUIRE(lines.size() == got.size());
    for (size_t i = 0; i < lines.size(); ++i) {
        CHECK(lines[i].stack == got[i].first);
        CHECK(lines[i].bytes == got[i].second);
    }
}

TEST_CASE("folded stacks: a copy stays whole when the original goes")
{
    auto copy = [] {
        FoldedStacks original;
        original.add({"main", "work"}, 4096, {{"/bin/x", "ab", 16, "x.c", 3}, {"/bin/x", "ab", 32, "x.c", 9}});
        original.add({"main", "work"}, 4096);
        return FoldedStacks(original);
    }();
    const std::vector<FoldedLine> lines = copy.lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].stack == "main;work");
    CHECK(lines[0].bytes == 8192);
    CHECK(lines[0].frames == std::vector<std::string>{"main", "work"});
    REQUIRE(lines[0].sources.size() == 2);
    CHECK(lines[0].sources[1].line == 9);
}
