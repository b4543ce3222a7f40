#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "golden.h"
#include "report/json_writer.h"
#include "report/live_line.h"
#include "report/table_writer.h"
#include "sample_report.h"

using namespace memtrace;
using memtrace::testing::sample_command_report;
using memtrace::testing::sample_function_report;
using memtrace::testing::sample_process;

TEST_CASE("table for a command and its child (golden)")
{
    std::ostringstream out;
    write_table(out, sample_command_report());
    check_golden("table_command.txt", out.str());
}

TEST_CASE("table for -a: top by peak and by growth (golden)")
{
    RunReport r;
    r.mode = TraceMode::All;
    r.duration_s = 10;
    r.end_reason = "stopped after -d 10 s";
    r.top = 2;
    for (uint32_t i = 1; i <= 4; ++i) {
        ProcessRecord p = sample_process(100 + i, "proc", 10 * i);
        p.start_rss = (i == 1 ? 1 : 10 * i - 1) * 1024 * 1024; // pid 101 grew most
        if (i == 3) {
            p.exited = false;
            p.wait_status.reset();
            p.end_s.reset();
        }
        r.processes.push_back(p);
    }
    r.stats.ringbuf_drops = 2;
    std::ostringstream out;
    write_table(out, r);
    check_golden("table_all.txt", out.str());
}

TEST_CASE("table for -a says how many ended processes it does not list")
{
    RunReport r;
    r.mode = TraceMode::All;
    r.processes.push_back(sample_process(101, "proc", 10));
    r.stats.ended_not_kept = 1234;
    std::ostringstream out;
    write_table(out, r);
    INFO(out.str());
    CHECK(out.str().find("1235 seen") != std::string::npos);
    CHECK(out.str().find("Not listed: 1,234 processes that ended") != std::string::npos);
}

TEST_CASE("-a: programs of ended processes not listed are still counted, in the table and JSON read back")
{
    RunReport r;
    r.mode = TraceMode::All;
    r.processes.push_back(sample_process(101, "proc", 10));
    r.processes.back().exe = "/usr/bin/proc";
    r.processes.back().exited = true;
    ProgramGroup unlisted;
    unlisted.program = "/usr/bin/proc";
    unlisted.comm = "proc";
    unlisted.runs = 41;
    unlisted.max_peak_rss = 1; // smaller than the listed one's
    unlisted.max_peak_pid = 7;
    unlisted.page_faults = 1000;
    r.unlisted_programs.push_back(unlisted);
    r.stats.ended_not_kept = 41;
    std::ostringstream table;
    write_table(table, r);
    INFO(table.str());
    CHECK(table.str().find("the programs table counts them all") != std::string::npos);
    std::ostringstream json;
    write_json(json, r);
    const auto j = nlohmann::ordered_json::parse(json.str());
    REQUIRE(j["programs"].size() == 1);
    CHECK(j["programs"][0]["processes"] == 42);
    CHECK(j["programs"][0]["max_peak_pid"] == 101);
    RunReport back = report_from_json(j);
    REQUIRE(back.unlisted_programs.size() == 1);
    CHECK(back.unlisted_programs[0].runs == 41);
    CHECK(back.unlisted_programs[0].page_faults == 1000);
    const auto groups = group_by_program(back.processes, back.unlisted_programs);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].runs == 42);
}

TEST_CASE("the most the traced processes held at once: table line and JSON, read back")
{
    RunReport r;
    r.mode = TraceMode::All;
    r.processes.push_back(sample_process(101, "proc", 10));
    r.processes.push_back(sample_process(102, "other", 20));
    r.total_peak = {1536ull * 1024 * 1024, 2.5};
    std::ostringstream table;
    write_table(table, r);
    INFO(table.str());
    CHECK(table.str().find("All traced processes together: at most 1.5 GiB of RSS at one moment (+2.50 s;") !=
          std::string::npos);
    std::ostringstream json;
    write_json(json, r);
    RunReport back = report_from_json(nlohmann::ordered_json::parse(json.str()));
    CHECK(back.total_peak.bytes == r.total_peak.bytes);
    CHECK(back.total_peak.at_s == 2.5);
    // one process: its own peak says it all, no line
    r.processes.pop_back();
    std::ostringstream one;
    write_table(one, r);
    CHECK(one.str().find("All traced processes together") == std::string::npos);
}

TEST_CASE("table for -p with nothing traced says so")
{
    RunReport r;
    r.mode = TraceMode::Pids;
    r.pids = {5, 6};
    r.duration_s = 1;
    std::ostringstream out;
    write_table(out, r);
    CHECK(out.str() == "memtrace: traced pids 5,6 for 1.00 s\n\nNo process was traced.\n");
}

TEST_CASE("JSON report (golden) with the documented keys")
{
    std::ostringstream out;
    write_json(out, sample_command_report());
    check_golden("report_command.json", out.str());

    auto j = nlohmann::json::parse(out.str());
    CHECK(j["version"] == 1);
    CHECK(j["duration_s"] == 0.5);
    REQUIRE(j["processes"].size() == 2);
    const auto &app = j["processes"][0]; // sorted by peak
    for (const char *key : {"pid", "comm", "cmdline", "peak_rss_bytes", "start_rss_bytes",
                            "final_rss_bytes", "peak_anon_bytes", "peak_file_bytes",
                            "peak_shmem_bytes", "peak_vm_bytes", "page_faults", "touched_bytes",
                            "mapped_bytes", "unmapped_bytes", "exit_code"})
        CHECK(app.contains(key));
    CHECK(app["pid"] == 4242);
    CHECK(app["origin"] == "command");
    CHECK(app["peak_rss_bytes"] == 256ull * 1024 * 1024);
    CHECK(app["exit_code"] == 0);
    CHECK(app["kernel_maxrss_bytes"] == 256ull * 1024 * 1024 - 100 * 1024);
    const auto &worker = j["processes"][1];
    CHECK(worker["exit_code"] == 137);
    CHECK(worker["exit_signal"] == "SIGKILL");
    CHECK(worker["origin"] == "forked");
    CHECK(j["stats"]["lost_events"] == 0);
}

TEST_CASE("JSON for a running process has null exit fields")
{
    RunReport r;
    r.mode = TraceMode::Pids;
    r.pids = {9};
    ProcessRecord p = sample_process(9, "svc", 5);
    p.exited = false;
    p.wait_status.reset();
    p.end_s.reset();
    r.processes = {p};
    std::ostringstream out;
    write_json(out, r);
    auto j = nlohmann::json::parse(out.str());
    CHECK(j["mode"] == "pids");
    CHECK(j["pids"] == std::vector<int>{9});
    CHECK(j["processes"][0]["exit_code"].is_null());
    CHECK(j["processes"][0]["end_s"].is_null());
    CHECK(j["processes"][0]["running"] == true);
    CHECK_FALSE(j.contains("command"));
}

TEST_CASE("live line shows RSS, its change, peak, VM and faults")
{
    ProcessRecord p = sample_process(77, "svc", 100);
    p.final_rss = 50 * 1024 * 1024;
    p.exited = false;
    CHECK(live_line(2.0, p, 40 * 1024 * 1024) ==
          "[    2.0s] 77 svc  rss 50.0 MiB (+10.0 MiB)  peak 100.0 MiB  vm 4.0 MiB  faults 25,612");
    p.exited = true;
    CHECK(live_line(12.5, p, 60 * 1024 * 1024).find("(-10.0 MiB)") != std::string::npos);
    CHECK(live_line(12.5, p, 0).find("[exited]") != std::string::npos);
}

TEST_CASE("describe_end")
{
    ProcessRecord p;
    CHECK(describe_end(p) == "is still running");
    p.exited = true;
    p.wait_status = 2 << 8;
    CHECK(describe_end(p) == "exited with status 2");
    p.wait_status = 15;
    CHECK(describe_end(p) == "was killed by SIGTERM");
}

TEST_CASE("table with traced functions (golden)")
{
    std::ostringstream out;
    write_table(out, sample_function_report());
    check_golden("table_functions.txt", out.str());
}

TEST_CASE("JSON functions carry the documented keys")
{
    std::ostringstream out;
    write_json(out, sample_function_report());
    check_golden("report_functions.json", out.str());
    auto j = nlohmann::json::parse(out.str());
    REQUIRE(j["functions"].size() == 2);
    const auto &f = j["functions"][0];
    for (const char *key : {"symbol", "demangled", "module", "pid", "calls",
                            "max_peak_increment_bytes", "max_peak_rss_bytes", "total_net_bytes",
                            "unreturned", "probe_hits"})
        CHECK(f.contains(key));
    CHECK(f["max_peak_increment_bytes"] == 256ull << 20);
    CHECK(f["probe_hits"] == 6);
    CHECK(j["functions"][1]["demangled"] == "Index::build(unsigned long)");
    CHECK(j["functions"][1]["active"] == 1);
}
