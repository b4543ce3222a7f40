// --folded: stacks of memory growth, against stackwork, whose call paths and
// sizes are known (tests/workloads/stackwork.c, built with frame pointers).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace e2e;

namespace {

std::string stackwork(const std::string &variant = "stackwork")
{
    return workload(variant);
}

// The bytes of the lines whose stack ends with `suffix`.
uint64_t ending_with(const std::map<std::string, uint64_t> &lines, const std::string &suffix)
{
    uint64_t total = 0;
    for (const auto &[stack, bytes] : lines)
        if (stack.size() >= suffix.size() && stack.compare(stack.size() - suffix.size(), suffix.size(), suffix) == 0)
            total += bytes;
    return total;
}

void check_format(const std::string &file)
{
    RunResult r = run({std::string(MT_SOURCE_DIR) + "/tests/tools/folded_check.py", file});
    INFO("folded_check: " << r.out);
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("ok ", 0) == 0);
}

} // namespace

TEST_CASE("--folded: pages brought in, by the call paths that touched them", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--", stackwork(), "256", "128"});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(ending_with(lines, ";main;load_table;fill"), 256 * MiB));
    CHECK(within_3_percent(ending_with(lines, ";main;build_index;grow;fill"), 128 * MiB));
    for (const auto &[stack, bytes] : lines)
        CHECK(stack.rfind("stackwork;", 0) == 0); // comm is the root frame
    check_format(folded);

    // the folded total is the exact touched total, but for the last partial sample
    const auto &st = r.report["stacks"];
    uint64_t folded_total = st["folded_total_bytes"], exact = st["exact_total_bytes"];
    CHECK(exact == uint64_t(r.report["processes"][0]["touched_bytes"]));
    CHECK(folded_total <= exact);
    CHECK(exact - folded_total < uint64_t(st["sample_bytes"]));
    CHECK(st["kind"] == "touch");
    CHECK(st["samples"].get<uint64_t>() >= 384 * MiB / (512 * KiB));
    CHECK(r.result.out.find("Stacks (" + folded + ")") != std::string::npos);
    // the sampled code (stackwork's own) has frame pointers: walked in the kernel,
    // but for ld.so's start-up and the odd sample copied instead (seen: 9 of 768
    // under load, the same stacks once unwound)
    CHECK(st["unwind"]["method"] == "auto");
    CHECK(st["unwind"]["by_frame_pointers"].get<uint64_t>() >= 384 * MiB / (512 * KiB) * 95 / 100);
}

TEST_CASE("--unwind fp: code without frame pointers is named in the report", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--unwind", "fp", "--", stackwork(), "32", "16"});
    REQUIRE(r.result.exit_code == 0);
    // Debian's libc has no frame pointers: the report says so, and what to do
    CHECK(r.result.out.find("built without frame pointers: ") != std::string::npos);
    CHECK(r.result.out.find("libc.so.6") != std::string::npos);
    CHECK(r.result.out.find("--unwind auto") != std::string::npos);
}

TEST_CASE("--sample-bytes 4096: every page, totals equal", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    // frame pointers only: every page's stack is then walked in the kernel (at
    // this rate DWARF copies would outrun the reader: see the [unwind] tests)
    JsonRun r = run_memtrace_json({"--folded", folded, "--sample-bytes", "4096", "--unwind", "fp", "--",
                                   stackwork(), "64", "32"});
    auto lines = read_folded(folded);
    INFO(dump_folded(lines) << r.result.out);
    // malloc writes its chunk header in the table's first page: that page is malloc's
    uint64_t table = ending_with(lines, ";main;load_table;fill");
    CHECK(table <= 64 * MiB);
    CHECK(table >= 64 * MiB - 4096);
    CHECK(ending_with(lines, ";main;build_index;grow;fill") == 32 * MiB); // mmap'd: all fill's
    // Every page is sampled: the totals agree exactly. Pages memtrace's own
    // child touched before it exec'd the command are neither counted nor sampled.
    uint64_t folded_total = r.report["stacks"]["folded_total_bytes"];
    uint64_t exact = r.report["stacks"]["exact_total_bytes"];
    CHECK(folded_total == exact);
    for (const auto &[stack, bytes] : lines) {
        INFO(stack);
        CHECK(stack.rfind("stackwork;", 0) == 0);
        CHECK(stack.find("memtrace") == std::string::npos);
    }
    CHECK(r.report["stacks"]["unwind"]["copies_lost"] == 0);
}

TEST_CASE("--stacks map: memory mapped, by who asked for it", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--stacks", "map", "--", stackwork(), "64", "128"});
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    // build_index mmaps 128 MiB itself: from libc's __mmap (no frame pointer)
    // DWARF unwinding reaches build_index (a frame-pointer walk would skip it)
    // (libc's debug file, when installed, adds the functions inlined in __mmap)
    uint64_t by_build_index = 0;
    for (const auto &[stack, bytes] : lines)
        if (stack.find(";main;build_index;__mmap") != std::string::npos)
            by_build_index += bytes;
    CHECK(within_3_percent(by_build_index, 128 * MiB));
    const auto &st = r.report["stacks"];
    CHECK(st["kind"] == "map");
    CHECK(st["exact_total_bytes"] == r.report["processes"][0]["mapped_bytes"]);
    CHECK(uint64_t(st["exact_total_bytes"]) - uint64_t(st["folded_total_bytes"]) < 512 * KiB);
    check_format(folded);
}

TEST_CASE("--kernel-stacks: kernel frames below '-', without memtrace's own", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    run_memtrace_json({"--folded", folded, "--kernel-stacks", "--", stackwork(), "32", "16"});
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    bool fault_path = false;
    for (const auto &[stack, bytes] : lines) {
        size_t dash = stack.find(";-;");
        REQUIRE(dash != std::string::npos);
        std::string kernel = stack.substr(dash + 3);
        fault_path |= stack.find(";fill;-;") != std::string::npos &&
                      kernel.find("handle_mm_fault") != std::string::npos;
        CHECK(kernel.find("bpf_") == std::string::npos);
    }
    CHECK(fault_path);
    check_format(folded);
}

TEST_CASE("--per-pid and --per-thread root frames", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--per-thread", "--", stackwork(), "16", "8"});
    uint32_t pid = r.report["command_pid"];
    std::string root = "stackwork-" + std::to_string(pid) + ";stackwork-" + std::to_string(pid) + ";";
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(ending_with(lines, ";main;load_table;fill") == ending_with(lines, root.substr(0, root.size() - 1) + ";__libc_start_call_main;main;load_table;fill"));
    for (const auto &[stack, bytes] : lines)
        CHECK(stack.rfind(root, 0) == 0);

    run_memtrace_json({"--folded", folded, "--per-pid", "--", stackwork(), "16", "8"});
    for (const auto &[stack, bytes] : read_folded(folded))
        CHECK(stack.find("stackwork-") == 0);
}

TEST_CASE("frames in a shared library, in JIT code (perf map), in a stripped binary", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    run_memtrace_json({"--folded", folded, "--", stackwork(), "--lib", "48", "--jit", "40", "16", "8"});
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(ending_with(lines, ";main;use_library;lib_touch"), 48 * MiB));
    CHECK(within_3_percent(ending_with(lines, ";main;run_jit;jit_fill"), 40 * MiB));

    run_memtrace_json({"--folded", folded, "--", stackwork("stackwork-debuglink"), "32", "16"});
    lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(ending_with(lines, ";main;load_table;fill"), 32 * MiB));
}

TEST_CASE("a deleted binary, and a process that exits mid-trace, are still named", "[stacks]")
{
    require_root();
    std::string dir = report_dir();
    std::filesystem::copy_file(stackwork(), dir + "/doomed");
    std::filesystem::copy_file(workload("libstacklib.so"), dir + "/libstacklib.so");
    std::string folded = dir + "/out.folded";
    JsonRun r = run_memtrace_json({"--folded", folded, "--", dir + "/doomed", "--unlink-self", "32", "16"});
    CHECK_FALSE(std::filesystem::exists(dir + "/doomed"));
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(ending_with(lines, ";main;load_table;fill"), 32 * MiB));

    // a child that has exited long before tracing ends
    run_memtrace_json({"--children", "--folded", folded, "--", "sh", "-c",
                       stackwork() + " 24 8; sleep 0.5"});
    lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(ending_with(lines, ";main;load_table;fill"), 24 * MiB));
}

TEST_CASE("--folded with -p", "[stacks][pid]")
{
    require_root();
    Background work({stackwork(), "--wait", "40", "20"});
    std::string folded = report_dir() + "/out.folded";
    Background tracer({memtrace_bin(), "-p", std::to_string(work.pid()), "--folded", folded});
    REQUIRE(tracer.wait_for_stderr("memtrace: tracing"));
    work.send_stdin("go\n");
    CHECK(work.wait().exit_code == 0);
    CHECK(tracer.wait(30).exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    CHECK(within_3_percent(ending_with(lines, ";main;load_table;fill"), 40 * MiB));
    CHECK(within_3_percent(ending_with(lines, ";main;build_index;grow;fill"), 20 * MiB));
}

TEST_CASE("the format checker rejects what consumers would", "[stacks][tools]")
{
    std::string dir = report_dir();
    auto bad = [&](const std::string &content) {
        std::ofstream(dir + "/bad.folded") << content;
        return run({std::string(MT_SOURCE_DIR) + "/tests/tools/folded_check.py", dir + "/bad.folded"});
    };
    CHECK(bad("a;b 10\n").exit_code == 0);
    CHECK(bad("a;;b 10\n").exit_code == 1);   // empty frame
    CHECK(bad("a;b  10\n").exit_code == 1);   // two spaces
    CHECK(bad("a;b 1.5\n").exit_code == 1);   // not an integer
    CHECK(bad("b 1\na 1\n").exit_code == 1);  // not sorted
    CHECK(bad("a 1\na 2\n").exit_code == 1);  // not merged
    CHECK(bad("a 1").exit_code == 1);         // no final newline
}

TEST_CASE("--folded bad input", "[stacks][bad-input]")
{
    require_root();
    for (auto args : std::vector<std::vector<std::string>>{
             {"--stacks", "map", "--", "true"},
             {"--folded", "/tmp/x.folded", "--stacks", "heap", "--", "true"},
             {"--folded", "/tmp/x.folded", "--sample-bytes", "12x", "--", "true"},
             {"--folded", "/tmp/x.folded", "--sample-bytes", "100", "--", "true"},
             {"--folded", "/nonexistent/dir/x.folded", "--", "true"}}) {
        RunResult r = run_memtrace(args);
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("--folded through exec: the folded total and the exact total count every program", "[stacks]")
{
    require_root();
    std::string folded = report_dir() + "/exec.folded";
    // python3 touches 96 MiB, then the same process execs /bin/true (whose own
    // figures start again, as VmHWM's do): its samples stay in the folded file
    JsonRun r = run_memtrace_json(
        {"--children", "--folded", folded, "--", "/usr/bin/python3", "-c",
         "b = bytearray(96 << 20); import os; os.execv('/bin/true', ['true'])"});
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    const auto &st = r.report["stacks"];
    uint64_t folded_total = st["folded_total_bytes"], exact = st["exact_total_bytes"];
    uint64_t sum = 0;
    for (const auto &[stack, bytes] : read_folded(folded))
        sum += bytes;
    CHECK(sum == folded_total);
    CHECK(folded_total >= 96 * MiB);
    CHECK(folded_total <= exact); // the old exact total was /bin/true's alone (~1 MiB)
    CHECK(exact - folded_total < 2 * uint64_t(st["sample_bytes"])); // a partial sample per program
    CHECK(uint64_t(r.report["processes"][0]["touched_bytes"]) < 16 * MiB); // the table: /bin/true's
}

TEST_CASE("-a --folded: memtrace's own memory stays bounded while many short processes come and go",
          "[stacks][bounded]")
{
    require_root();
    const std::string dir = report_dir();
    const std::string folded = dir + "/out.folded";
    Background tracer({memtrace_bin(), "-a", "-q", "-o", "/dev/null", "--folded", folded, "-d", "12"});
    std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // attached
    // ~300 processes, each a program with its libraries to read and unwind,
    // and whatever else runs on the machine. Measured on a busy 2-CPU VM:
    // 426 MiB before (9be345f: a 64 MiB ring mapped twice, a Dwfl per process
    // mapping its own copy of every file), 200 MiB now.
    RunResult load = run({"sh", "-c",
                          "i=0; while [ $i -lt 100 ]; do /usr/bin/python3 -c 'x = [0] * 100000'; "
                          "sh -c 'echo x | sort > /dev/null'; ls / > /dev/null; i=$((i + 1)); done"});
    REQUIRE(load.exit_code == 0);
    RunResult r = tracer.wait(180);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const uint64_t maxrss_mib = static_cast<uint64_t>(tracer.usage().ru_maxrss) / 1024;
    INFO("memtrace's VmHWM: " << maxrss_mib << " MiB");
    CHECK(maxrss_mib < 300);
    auto lines = read_folded(folded);
    uint64_t python = 0;
    for (const auto &[stack, bytes] : lines)
        if (stack.rfind("python3;", 0) == 0)
            python += bytes;
    CHECK(python > 100 * (4u << 20)); // each python3 brings in more than 4 MiB
}

TEST_CASE("-a --folded: ended programs are named as the trace goes on, then their files are let go",
          "[stacks][bounded][all]")
{
    require_root();
    const std::string dir = report_dir();
    const std::string folded = dir + "/out.folded";
    Background tracer({memtrace_bin(), "-a", "-q", "-o", "/dev/null", "--folded", folded, "-d", "12"});
    std::filesystem::copy_file(workload("libstacklib.so"), dir + "/libstacklib.so"); // beside them: $ORIGIN
    std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // attached
    // Three binaries, each run once (living long enough for memtrace to open
    // its file), then deleted: memtrace holds the only way to read them,
    // until their samples are named.
    for (const char *name : {"swgone1", "swgone2", "swgone3"}) {
        std::filesystem::copy_file(stackwork(), dir + "/" + name);
        RunResult r = run({dir + "/" + name, "--hold", "400", "8", "4"});
        REQUIRE(r.exit_code == 0);
        std::filesystem::remove(dir + "/" + name);
    }
    // Named about a second after their last copies are unwound; then nothing
    // needs the files.
    std::string still_open;
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        still_open.clear();
        std::error_code ec;
        for (const auto &fd : std::filesystem::directory_iterator("/proc/" + std::to_string(tracer.pid()) + "/fd", ec)) {
            std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
            if (target.find("/swgone") != std::string::npos)
                still_open += target + "\n";
        }
        if (still_open.empty())
            break;
    }
    REQUIRE(tracer.running()); // the trace goes on
    INFO("memtrace still holds:\n" << still_open);
    CHECK(still_open.empty());
    RunResult r = tracer.wait(120);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto lines = read_folded(folded);
    uint64_t table = 0, index = 0, unnamed = 0;
    std::string ours;
    for (const auto &[stack, bytes] : lines) {
        if (stack.rfind("swgone", 0) != 0)
            continue;
        ours += stack + " " + std::to_string(bytes) + "\n";
        if (stack.find(";main;load_table;fill") != std::string::npos)
            table += bytes;
        if (stack.find(";main;build_index;grow;fill") != std::string::npos)
            index += bytes;
        if (stack.find("[swgone") != std::string::npos) // a frame of theirs not named
            unnamed += bytes;
    }
    INFO(ours);
    CHECK(within_3_percent(table, 3 * 8 * MiB));
    CHECK(within_3_percent(index, 3 * 4 * MiB));
    CHECK(unnamed == 0);
}

TEST_CASE("short-lived children: named from the mappings the kernel side read, no [unknown]", "[stacks][children]")
{
    require_root();
    std::string folded = report_dir() + "/out.folded";
    // 12 children, each gone within milliseconds of allocating 3 MiB in its own
    // code and 1 MiB in libstacklib.so (in no library directory): named only if
    // their mappings were read while they lived, or reported by the kernel side.
    std::string loop = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do " + stackwork() + " --lib 1 2 1 >/dev/null; done";
    JsonRun r = run_memtrace_json({"--children", "--folded", folded, "--sample-bytes", "65536", "--", "sh",
                                   "-c", loop});
    REQUIRE(r.result.exit_code == 0);
    auto lines = read_folded(folded);
    INFO(dump_folded(lines));
    uint64_t unknown = 0, stackwork_bytes = 0;
    for (const auto &[stack, bytes] : lines) {
        if (stack.rfind("stackwork;", 0) != 0)
            continue;
        stackwork_bytes += bytes;
        // The unwinder's step above _start (ld.so's first faults in the program)
        // finds no caller: the same for processes that live long (not this issue).
        if (stack.size() > 7 && stack.compare(stack.size() - 7, 7, ";_start") == 0)
            continue;
        if (stack.find("[unknown]") != std::string::npos || stack.find("no mapped file") != std::string::npos)
            unknown += bytes;
    }
    CHECK(unknown == 0);
    CHECK(stackwork_bytes > 0);
    // each process's samples stand for 64 KiB around each path: within 10%
    auto near = [](uint64_t measured, uint64_t expected) {
        return measured >= expected / 10 * 9 && measured <= expected / 10 * 11;
    };
    CHECK(near(ending_with(lines, ";main;load_table;fill"), 12 * 2 * MiB));
    CHECK(near(ending_with(lines, ";main;build_index;grow;fill"), 12 * 1 * MiB));
    CHECK(near(ending_with(lines, ";main;use_library;lib_touch"), 12 * 1 * MiB));
}
