// --unwind: whole stacks through code without frame pointers, by DWARF CFI.
// unwindwork (tests/workloads/unwindwork.c, GCC -O2) touches its pages inside
// libc's memset along known paths; unwindwork-fp is its frame-pointer twin.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "harness.h"

using namespace e2e;

namespace {

// Bytes of the stacks matching `pattern` (a regex on the whole "a;b;c" stack).
uint64_t matching(const std::map<std::string, uint64_t> &lines, const std::string &pattern)
{
    std::regex re(pattern);
    uint64_t total = 0;
    for (const auto &[stack, bytes] : lines)
        if (std::regex_match(stack, re))
            total += bytes;
    return total;
}

// The root of a whole user stack: the program's entry, through libc's start
// (under auto, cut where frame-pointer stacks stop: libc's frame that calls main).
const std::string kFromStart = "[^;]+;(_start;__libc_start_main[^;]*;)?__libc_start_call_main;main;";
const std::string kMemset = "[^;]*memset[^;]*";

} // namespace

TEST_CASE("--unwind auto: the caller of memset, in an -O2 program and its frame-pointer twin", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    std::map<std::string, std::map<std::string, uint64_t>> by_binary;
    for (std::string binary : {"unwindwork", "unwindwork-fp"}) {
        JsonRun r = run_memtrace_json({"--folded", folded, "--", workload(binary), "--lib", "64", "32"});
        REQUIRE(r.result.exit_code == 0);
        auto lines = read_folded(folded);
        INFO(binary << ":\n" << dump_folded(lines) << r.result.out);
        CHECK(within_3_percent(matching(lines, kFromStart + "prepare;clear_table;" + kMemset), 64 * MiB));
        CHECK(within_3_percent(matching(lines, kFromStart + "wipe_index;" + kMemset), 32 * MiB));
        // a PIE binary's shared library, without frame pointers either
        CHECK(within_3_percent(matching(lines, kFromStart + "lib_clear;" + kMemset), 16 * MiB));
        const auto &unwind = r.report["stacks"]["unwind"];
        CHECK(unwind["method"] == "auto");
        CHECK(unwind["by_dwarf"].get<uint64_t>() >= 200); // 112 MiB in memset, 512 KiB a sample
        CHECK(unwind["copies_lost"] == 0);
        CHECK(r.result.out.find("with DWARF CFI") != std::string::npos);
        by_binary[binary] = lines;
    }
    // the same weights either way (±3%)
    for (const std::string path : {"prepare;clear_table;", "wipe_index;", "lib_clear;"}) {
        uint64_t plain = matching(by_binary["unwindwork"], kFromStart + path + kMemset);
        uint64_t fp = matching(by_binary["unwindwork-fp"], kFromStart + path + kMemset);
        INFO(path << ": " << plain << " vs " << fp);
        CHECK(within_3_percent(plain, fp));
    }
}

TEST_CASE("--unwind fp loses the caller of memset; dwarf unwinds every sample", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun fp = run_memtrace_json({"--folded", folded, "--unwind", "fp", "--", workload("unwindwork-fp"), "64", "32"});
    REQUIRE(fp.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(matching(lines, ".*clear_table.*") == 0); // the frame-pointer walk skips it
    CHECK(fp.report["stacks"]["unwind"]["by_dwarf"] == 0);
    CHECK(fp.result.out.find("built without frame pointers") != std::string::npos);

    JsonRun dw = run_memtrace_json({"--folded", folded, "--unwind", "dwarf", "--", workload("unwindwork-fp"), "64", "32"});
    REQUIRE(dw.result.exit_code == 0);
    lines = read_folded(folded);
    INFO(dump_folded(lines));
    const auto &unwind = dw.report["stacks"]["unwind"];
    CHECK(unwind["by_frame_pointers"] == 0);
    CHECK(unwind["by_dwarf"] == dw.report["stacks"]["samples"]);
    CHECK(within_3_percent(matching(lines, kFromStart + "prepare;clear_table;" + kMemset), 64 * MiB));
}

TEST_CASE("--unwind auto: code mapped a moment ago is never walked by frame pointers", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    // 1200 rounds: dlopen a library without frame pointers (at a new address each
    // time), touch 256 KiB with its code, dlclose it. Until memtrace has read the
    // new mappings, such code must be unwound with DWARF: walked by frame pointers
    // its caller `remap` vanishes (before the kernel side checked the code
    // generation of each hint: 18-25 MiB of the 300 in 6 runs of 6). A copy
    // unwound after its library was unloaded again is cut short, not guessed
    // (libdwfl's frame-pointer fallback lost `remap` the same way).
    // _init (crti.o) has no CFI: the pages its run faults in are cut short too.
    JsonRun r = run_memtrace_json({"--folded", folded, "--sample-bytes", "65536", "--",
                                   workload("unwindwork-fp"), "--remap", "1200", "1", "1"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(matching(lines, kFromStart + "remap;remap_touch"), 300 * MiB));
    CHECK(matching(lines, ".*;main;remap_touch") == 0);
}

TEST_CASE("--unwind: a stripped binary named from its debug file, found by build-id", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    std::string debug_dir = std::string(MT_BUILD_DIR) + "/workloads/unwind-debug";
    JsonRun r = run_memtrace_json({"--folded", folded, "--debuginfo-dir", debug_dir, "--",
                                   workload("unwindwork-stripped"), "64", "32"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(matching(lines, kFromStart + "prepare;clear_table;" + kMemset), 64 * MiB));

    // without the debug file: the same chain, by file offsets
    run_memtrace_json({"--folded", folded, "--", workload("unwindwork-stripped"), "64", "32"});
    lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(
        matching(lines, "[^;]+;__libc_start_call_main;"
                        "\\[unwindwork-stripped\\+0x[0-9a-f]+\\];\\[unwindwork-stripped\\+0x[0-9a-f]+\\];"
                        "\\[unwindwork-stripped\\+0x[0-9a-f]+\\];" + kMemset),
        64 * MiB));
}

TEST_CASE("--unwind: Debian's python3, from Py_RunMain through libpython to libc", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--", "/usr/bin/python3", "-c",
                                   "b = bytearray(200 << 20)"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    uint64_t whole = matching(lines, "python3;(_start;__libc_start_main[^;]*;)?__libc_start_call_main;"
                                     "Py_BytesMain;Py_RunMain;(.*;)?PyRun_SimpleStringFlags;.*" + kMemset);
    CHECK(whole >= 195 * MiB);
    CHECK(whole <= 201 * MiB);
    CHECK(r.report["stacks"]["unwind"]["cut_short"].empty());
}

TEST_CASE("--unwind: a stack deeper than the copy is cut short, reported, not wrong", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    // 40 frames of 1 KiB: deeper than a 16 KiB copy
    JsonRun r = run_memtrace_json({"--folded", folded, "--stack-bytes", "16K", "--", workload("unwindwork"),
                                   "--deep", "40", "8", "8"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines) << r.result.out);
    CHECK(within_3_percent(matching(lines, "unwindwork;\\[cut short: stack copy too short\\];(descend;)+touch_bottom;" + kMemset),
                           8 * MiB));
    CHECK(r.report["stacks"]["unwind"]["cut_short"]["stack copy too short"].get<uint64_t>() >= 10);
    CHECK(r.result.out.find("raise --stack-bytes") != std::string::npos);

    // the default copies up to 64 KiB, stopping at the stack's top: the whole
    // chain, 41 descend frames under main
    r = run_memtrace_json({"--folded", folded, "--", workload("unwindwork"), "--deep", "40", "8", "8"});
    REQUIRE(r.result.exit_code == 0);
    lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(matching(lines, kFromStart + "(descend;){41}touch_bottom;" + kMemset), 8 * MiB));
    CHECK(r.report["stacks"]["unwind"]["cut_short"].empty());
}

TEST_CASE("--unwind and --stack-bytes: bad values are one clear line", "[unwind]")
{
    RunResult r = run_memtrace({"--folded", "/dev/null", "--unwind", "lbr", "--", "true"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--unwind: expected fp, dwarf or auto, got 'lbr'") != std::string::npos);
    r = run_memtrace({"--folded", "/dev/null", "--stack-bytes", "1M", "--", "true"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--stack-bytes: between 512 and 64K") != std::string::npos);
}

TEST_CASE("--unwind: a function inlined into its caller is a frame too, from DWARF", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--", workload("unwindwork"), "--inline", "8", "8"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(matching(lines, kFromStart + "stamp;stamp_pages \\[inlined\\];" + kMemset), 8 * MiB));
}

TEST_CASE("--unwind: a copy at every page; the reader keeps up and stays small", "[unwind]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    // ~25,000 copies in a burst: unwound in batches while the process lives
#if defined(__SANITIZE_ADDRESS__)
    // ASan holds 256 MiB of freed memory (its quarantine) on top: keep that small
    // here, so the bound below still tells a queue from the sanitizer
    const char *given = getenv("ASAN_OPTIONS");
    std::string saved = given ? given : "";
    setenv("ASAN_OPTIONS", (saved.empty() ? "" : saved + ":") .append("quarantine_size_mb=16").c_str(), 1);
#endif
    JsonRun r = run_memtrace_json({"--folded", folded, "--sample-bytes", "4096", "--", workload("unwindwork"), "64", "32"});
#if defined(__SANITIZE_ADDRESS__)
    if (given)
        setenv("ASAN_OPTIONS", saved.c_str(), 1);
    else
        unsetenv("ASAN_OPTIONS");
#endif
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    const auto &unwind = r.report["stacks"]["unwind"];
    uint64_t lost = unwind["copies_lost"];
    uint64_t whole = matching(lines, kFromStart + "prepare;clear_table;" + kMemset);
    CHECK(whole + lost * 4096 >= 64 * MiB * 97 / 100); // the copies that arrived name the path
    CHECK(unwind["by_dwarf"].get<uint64_t>() >= 20000);
    CHECK(r.report["memtrace"]["maxrss_bytes"].get<uint64_t>() < 200 * MiB); // no unbounded queue
}
