// -i on a terminal: the live table's text for fixed processes, and the
// escapes that redraw it in place.
#include <catch2/catch.hpp>

#include "report/live_screen.h"
#include "sample_report.h"

using namespace memtrace;
using memtrace::testing::sample_process;

namespace {

std::string joined(const std::vector<std::string> &lines)
{
    std::string out;
    for (const std::string &l : lines)
        out += l + "\n";
    return out;
}

std::vector<LiveProcess> three_processes()
{
    constexpr uint64_t MiB = 1024 * 1024;
    ProcessRecord small = sample_process(10, "small", 4);
    ProcessRecord big = sample_process(20, "big", 300);
    big.final_rss = 200 * MiB;
    big.start_rss = 50 * MiB;
    ProcessRecord odd = sample_process(30, "e\x1b[2Jvil", 20);
    odd.final_rss = 20 * MiB;
    return {{big, 180 * MiB}, {odd, 24 * MiB}, {small, 3 * MiB / 2}};
}

} // namespace

TEST_CASE("live screen: processes by peak RSS, change since the last refresh and since the start",
          "[live]")
{
    const std::string expected =
        "memtrace: 12.5 s, 3 processes traced; Ctrl-C stops and writes the results\n"
        "PID  COMM               RSS     CHANGE      GROWTH   PEAK RSS       VM  FAULTS\n"
        " 20  big          200.0 MiB  +20.0 MiB  +150.0 MiB  300.0 MiB  4.0 MiB  76,812\n"
        " 30  e\\x1b[2Jvil   20.0 MiB   -4.0 MiB   +20.0 MiB   20.0 MiB  4.0 MiB   5,132\n"
        " 10  small          1.5 MiB        0 B    +1.5 MiB    4.0 MiB  4.0 MiB   1,036\n";
    CHECK(joined(live_screen(12.5, three_processes(), 10, 200)) == expected);
}

TEST_CASE("live screen: rows beyond the limit are left out and said so; lines cut to the width",
          "[live]")
{
    std::vector<std::string> lines = live_screen(3, three_processes(), 1, 40);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "memtrace: 3.00 s, 3 processes traced, th");
    CHECK(lines[2].rfind(" 20  big", 0) == 0);
    for (const std::string &l : lines)
        CHECK(l.size() <= 40);
}

TEST_CASE("redraw: back up over the old table, clear each line, clear below", "[live]")
{
    CHECK(redraw({"a", "bb"}, 0) == "a\x1b[K\nbb\x1b[K\n\x1b[J");
    CHECK(redraw({"a"}, 3) == "\r\x1b[3Aa\x1b[K\n\x1b[J");
}
