// --lines: memory_profiler's line table of traced functions, from stack
// samples, against workloads whose lines bring in known memory:
// tests/workloads/linework.c (native, -g) and pylines.py (Debian's python3).
// The lines come from the files' "MT:" markers, so editing them breaks nothing
// silently.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "harness.h"

using namespace e2e;

namespace {

std::string source(const std::string &name)
{
    return std::string(MT_SOURCE_DIR) + "/tests/workloads/" + name;
}

// The 1-based line of the one line ending in "MT:<marker>" (C: before " */").
int marker_line(const std::string &file, const std::string &marker)
{
    std::ifstream in(source(file));
    REQUIRE(in.good());
    int n = 0, found = 0, count = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        const std::string tag = "MT:" + marker;
        const size_t at = line.find(tag);
        if (at == std::string::npos)
            continue;
        const std::string rest = line.substr(at + tag.size());
        if (rest.empty() || rest == " */") {
            found = n;
            ++count;
        }
    }
    INFO(file << ": marker MT:" << marker);
    REQUIRE(count == 1);
    return found;
}

const nlohmann::json &table(const JsonRun &r, const std::string &function)
{
    INFO("report: " << r.report.dump(1).substr(0, 6000) << "\nstderr: " << r.result.err);
    REQUIRE(r.report.contains("line_tables"));
    for (const auto &t : r.report["line_tables"])
        if (t["function"] == function)
            return t;
    FAIL("no line table for " << function);
    static nlohmann::json none;
    return none;
}

const nlohmann::json &row(const nlohmann::json &t, int line)
{
    INFO("table: " << t.dump(1).substr(0, 6000));
    for (const auto &l : t["lines"])
        if (l["line"] == line)
            return l;
    FAIL("no row for line " << line);
    static nlohmann::json none;
    return none;
}

uint64_t bytes_of(const nlohmann::json &row)
{
    return row["bytes"].get<uint64_t>();
}

uint64_t peak_rss(const JsonRun &r)
{
    return r.report["processes"][0]["peak_rss_bytes"].get<uint64_t>();
}

} // namespace

TEST_CASE("--lines: a C function's lines, exact per page with --sample-bytes 4096", "[lines]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "three_lines,never_called", "--lines", "--sample-bytes",
                                   "4096", "--", workload("linework")});
    REQUIRE(r.result.exit_code == 0);
    const auto &t = table(r, "three_lines");
    INFO("table: " << t.dump(1).substr(0, 6000));
    CHECK(t["language"] == "native");
    CHECK(t["source_file"] == source("linework.c"));
    CHECK(t["sample_bytes"] == 4096);
    const auto &a = row(t, marker_line("linework.c", "a"));
    const auto &b = row(t, marker_line("linework.c", "b"));
    const auto &c = row(t, marker_line("linework.c", "c"));
    const auto &inl = row(t, marker_line("linework.c", "inl"));
    // every page of each mapping, on the line that touched it (through a
    // call, or in code inlined there): nothing more, nothing less
    CHECK(bytes_of(a) == 8 * MiB);
    CHECK(bytes_of(b) == 16 * MiB);
    CHECK(bytes_of(c) == 32 * MiB);
    CHECK(bytes_of(inl) == 4 * MiB);
    CHECK(a["samples"] == 8 * MiB / 4096);
    CHECK(t["total"]["bytes"] == 60 * MiB); // main's own 2 MiB is not the function's
    CHECK(t["unplaced_bytes"] == 0);
    // the high points: the run's peak is reached on the inlined line's last
    // page, and the line before it ended 4 MiB lower (nothing grows in between)
    CHECK(inl["peak_rss_bytes"].get<uint64_t>() == peak_rss(r));
    CHECK(c["peak_rss_bytes"].get<uint64_t>() == peak_rss(r) - 4 * MiB);
    CHECK(b["peak_rss_bytes"].get<uint64_t>() == peak_rss(r) - 36 * MiB);
    CHECK(a["peak_rss_bytes"].get<uint64_t>() == peak_rss(r) - 52 * MiB);
    // the source, and lines that brought nothing in, as memory_profiler shows them
    CHECK(a["text"] == "    char *a = touch(8); /* MT:a */");
    const auto &unmap = row(t, marker_line("linework.c", "inl") + 2);
    CHECK(unmap["text"] == "    munmap(a, 8 * MIB);");
    CHECK(unmap["samples"] == 0);
    CHECK(unmap["peak_rss_bytes"].is_null());
    CHECK(t["first_line"].get<int>() < marker_line("linework.c", "a"));
    CHECK(t["last_line"].get<int>() > marker_line("linework.c", "inl") + 4);

    // the table for people says the same
    const std::string &out = r.result.out;
    CHECK(out.find("Function three_lines (linework), pid") != std::string::npos);
    CHECK(out.find("16.0 MiB    4,096      char *b = touch(16); /* MT:b */") != std::string::npos);
    CHECK(out.find("every page: exact") != std::string::npos);
}

TEST_CASE("--lines: a function never called gets its lines, blank", "[lines]")
{
    require_root();
    JsonRun r = run_memtrace_json(
        {"-f", "three_lines,never_called", "--lines", "--", workload("linework")});
    REQUIRE(r.result.exit_code == 0);
    const auto &t = table(r, "never_called");
    CHECK(t["pid"].is_null());
    CHECK(t["total"]["samples"] == 0);
    REQUIRE(t["lines"].size() >= 4);
    CHECK(t["lines"][0]["text"] == "NOINLINE void never_called(void)");
    for (const auto &l : t["lines"])
        CHECK(l["samples"] == 0);
    CHECK(r.result.out.find("no stack sample had it") != std::string::npos);
}

TEST_CASE("--lines: at the default sample size, each line within one sample", "[lines]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "three_lines", "--lines", "--", workload("linework"), "3"});
    REQUIRE(r.result.exit_code == 0);
    const auto &t = table(r, "three_lines");
    const uint64_t sample = t["sample_bytes"].get<uint64_t>();
    CHECK(sample == 64 * KiB);
    const std::pair<const char *, uint64_t> expected[] = {
        {"a", 3 * 8 * MiB}, {"b", 3 * 16 * MiB}, {"c", 3 * 32 * MiB}, {"inl", 3 * 4 * MiB}};
    for (const auto &[marker, bytes] : expected) {
        const auto &l = row(t, marker_line("linework.c", marker));
        INFO("line MT:" << marker << ": " << l.dump());
        const uint64_t got = bytes_of(l);
        CHECK(got + sample >= bytes);
        CHECK(got <= bytes + sample);
    }
    CHECK(r.result.out.find("one stack sample per 64.0 KiB") != std::string::npos);
    CHECK(r.result.out.find("--sample-bytes 4096: exact per page") != std::string::npos);
}

TEST_CASE("--lines: a Python function's lines with -f py:NAME (Debian's python3)", "[lines][python]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "py:three_lines", "-f", "py:never_called", "--lines",
                                   "--sample-bytes", "4096", "--", "/usr/bin/python3",
                                   source("pylines.py")});
    REQUIRE(r.result.exit_code == 0);
    const auto &t = table(r, "three_lines");
    INFO("table: " << t.dump(1).substr(0, 6000));
    CHECK(t["language"] == "python");
    CHECK(t["source_file"] == source("pylines.py"));
    const std::pair<const char *, uint64_t> expected[] = {{"a", 8 * MiB}, {"b", 16 * MiB}, {"c", 32 * MiB}};
    uint64_t previous_peak = 0;
    for (const auto &[marker, bytes] : expected) {
        const auto &l = row(t, marker_line("pylines.py", marker));
        INFO("line MT:" << marker << ": " << l.dump());
        // the bytearray's pages, its malloc header's page, and the odd page
        // of the interpreter's own
        CHECK(bytes_of(l) >= bytes);
        CHECK(bytes_of(l) <= bytes + 64 * KiB);
        CHECK(l["text"].get<std::string>().find("bytearray(") != std::string::npos);
        // each array is kept: each line's high point is above the last by its size
        CHECK(l["peak_rss_bytes"].get<uint64_t>() >= previous_peak + bytes);
        previous_peak = l["peak_rss_bytes"].get<uint64_t>();
    }
    CHECK(previous_peak <= peak_rss(r));
    CHECK(previous_peak + 512 * KiB >= peak_rss(r));
    CHECK(row(t, marker_line("pylines.py", "a") - 1)["text"] == "def three_lines():");
    const auto &none = table(r, "never_called");
    CHECK(none["total"]["samples"] == 0);
    CHECK(none["source_note"].get<std::string>().find("no sampled stack") != std::string::npos);
}

TEST_CASE("--lines: bad combinations are refused with what to do", "[lines][bad-input]")
{
    RunResult r = run_memtrace({"--lines", "--", workload("linework")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--lines shows the lines of traced functions: give -f FUNCTION too") !=
          std::string::npos);
    r = run_memtrace({"-f", "three_lines", "--lines", "--unwind", "fp", "--", workload("linework")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--lines needs stack copies") != std::string::npos);
    r = run_memtrace({"-f", "three_lines", "--lines", "--stacks", "map", "--", workload("linework")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--stacks map") != std::string::npos);
}

TEST_CASE("--lines under sudo: a source the invoking user cannot read is not shown", "[lines][python]")
{
    require_root();
    // a root process running a script only root may read, traced for user nobody
    const std::string dir = report_dir();
    const std::string script = dir + "/secret.py";
    {
        std::ofstream out(script);
        out << "import sys\n"
               "def grow():\n"
               "    a = bytearray(8 << 20)  # secret text\n"
               "    return len(a)\n"
               "sys.stdin.readline()\n"
               "grow()\n";
    }
    REQUIRE(chmod(script.c_str(), 0600) == 0);
    Background py({"/usr/bin/python3", script});
    const std::string json = dir + "/r.json";
    Background tracer({memtrace_bin(), "-p", std::to_string(py.pid()), "-f", "py:grow", "--lines",
                       "--json", json},
                      with_env({"SUDO_UID=65534", "SUDO_GID=65534"}));
    REQUIRE(tracer.wait_for_stderr("tracing pid"));
    py.send_stdin("go\n");
    CHECK(py.wait().exit_code == 0);
    RunResult r = tracer.wait(30);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("secret text") == std::string::npos);
    CHECK(r.out.find("is not readable by the invoking user") != std::string::npos);
    std::ifstream in(json);
    REQUIRE(in.good());
    nlohmann::json report = nlohmann::json::parse(in);
    REQUIRE(report["line_tables"].size() == 1);
    const auto &t = report["line_tables"][0];
    CHECK(t["total"]["bytes"].get<uint64_t>() >= 7 * MiB); // the figures are still there
    for (const auto &l : t["lines"])
        CHECK(l["text"].is_null());
}
