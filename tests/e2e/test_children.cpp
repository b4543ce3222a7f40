// Commands that fork and exec: the kernel's own figure of each program, every
// program of an exec chain, and the tables grouped by program (--children, -a).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness.h"

using namespace e2e;

namespace {

// The VmHWM memwork wrote to DIR/NAME (read_report takes pids only).
uint64_t reported_hwm(const std::string &dir, const std::string &name)
{
    std::ifstream in(dir + "/" + name);
    std::string key, unit;
    uint64_t kib = 0;
    while (in >> key >> kib >> unit)
        if (key == "VmHWM:")
            return kib * KiB;
    return 0;
}

const nlohmann::json *program_named(const nlohmann::json &report, const std::string &suffix)
{
    for (const auto &g : report["programs"]) {
        std::string name = g["program"];
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return &g;
    }
    return nullptr;
}

// Lines of `text` that match `pattern` whole (a table's rows).
size_t count_rows(const std::string &text, const std::string &pattern)
{
    std::regex re(pattern);
    std::istringstream in(text);
    size_t n = 0;
    for (std::string line; std::getline(in, line);)
        n += std::regex_match(line, re);
    return n;
}

} // namespace

TEST_CASE("the kernel's figure of a small command is its own VmHWM, not memtrace's copy", "[children][kernel]")
{
    require_root();
    std::string dir = report_dir();
    // memwork linked statically, touching nothing: ~0.6 MiB, smaller than memtrace's
    // copy of itself before the exec (~1.3 MiB: its anonymous pages, copied at fork)
    JsonRun r = run_memtrace_json({"--", workload("memwork-static"), "keep", "0"},
                                  with_env({"MEMWORK_REPORT_DIR=" + dir}));
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    uint32_t pid = r.report["command_pid"];
    const auto *p = r.process(pid);
    REQUIRE(p);
    auto truth = read_report(dir, pid);
    REQUIRE(truth);
    REQUIRE((*p)["kernel_hwm_bytes"].is_number());
    uint64_t hwm = (*p)["kernel_hwm_bytes"];
    uint64_t maxrss = (*p)["kernel_maxrss_bytes"];
    INFO("kernel_hwm " << hwm << " VmHWM " << truth->vm_hwm << " ru_maxrss " << maxrss);
    // What the program read itself before it ended. Both are the kernel's approximate
    // sums, taken at two moments: they differ by the per-CPU parts (up to ~0.5 MiB).
    CHECK(within_peak_bound(hwm, truth->vm_hwm));
    CHECK(hwm < 1 * MiB); // memtrace's copy: ~1.2 MiB
    // ru_maxrss also counts memtrace's copy before the exec
    CHECK(hwm + 256 * KiB < maxrss);
    CHECK(within_peak_bound((*p)["peak_rss_bytes"], hwm));
    CHECK((*p)["earlier_programs"].empty()); // memtrace's held copy is not a program of the command
}

TEST_CASE("an exec chain: every program's peak, each against its own VmHWM", "[children][exec]")
{
    require_root();
    std::string dir = report_dir();
    // sh execs memwork, which touches 96 MiB and execs a memwork that keeps 8
    std::string cmd = "exec " + workload("memwork") + " execchain 96 8";
    JsonRun r = run_memtrace_json({"--", "sh", "-c", cmd}, with_env({"MEMWORK_REPORT_DIR=" + dir}));
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    uint32_t pid = r.report["command_pid"];
    const auto *p = r.process(pid);
    REQUIRE(p);
    const uint64_t big = reported_hwm(dir, std::to_string(pid) + ".before-exec");
    const uint64_t small = reported_hwm(dir, std::to_string(pid));
    REQUIRE(big >= 96 * MiB);
    REQUIRE(small >= 8 * MiB);
    REQUIRE(small < 64 * MiB);
    INFO(p->dump(2));
    CHECK((*p)["cmdline"] == "memwork keep 8");
    CHECK(within_peak_bound((*p)["peak_rss_bytes"], small));
    const auto &earlier = (*p)["earlier_programs"];
    REQUIRE(earlier.size() == 2);
    CHECK(earlier[0]["comm"] == "sh");
    CHECK(uint64_t(earlier[0]["peak_rss_bytes"]) < 8 * MiB);
    CHECK(earlier[1]["cmdline"] == workload("memwork") + " execchain 96 8");
    CHECK(earlier[1]["ended_by_exec"] == true);
    CHECK(within_peak_bound(earlier[1]["peak_rss_bytes"], big));
    CHECK(within_peak_bound(earlier[1]["kernel_hwm_bytes"], big)); // the kernel's own, at the exec
    CHECK(uint64_t(earlier[1]["touched_bytes"]) >= 96 * MiB);
    CHECK(double(earlier[1]["end_s"]) <= double((*p)["start_s"]) + 0.001);
    CHECK(within_peak_bound((*p)["highest_peak_rss_bytes"], big));
    // ru_maxrss is the highest of the chain: the big program's
    CHECK(within_peak_bound((*p)["kernel_maxrss_bytes"], big));

    // the table shows each program, the earlier ones ended by exec
    RunResult t = run_memtrace({"--", "sh", "-c", cmd});
    INFO(t.out);
    CHECK(count_rows(t.out, " *[0-9]+ +memwork .* exec +/.*memwork execchain 96 8") == 1);
    CHECK(count_rows(t.out, " *[0-9]+ +sh .* exec +sh -c exec .*") == 1);
    CHECK(count_rows(t.out, " *[0-9]+ +memwork .* 0 +memwork keep 8") == 1);
    CHECK(t.out.find("EXIT exec:") != std::string::npos);
}

TEST_CASE("--children groups the table by program; --per-process keeps a row each", "[children][groups]")
{
    require_root();
    std::string dir = report_dir();
    const std::string m = workload("memwork");
    // two children fork and exec memwork; the shell then execs the third itself
    const std::string script = m + " keep 16; " + m + " keep 16; exec " + m + " keep 40";
    JsonRun r = run_memtrace_json({"--children", "--", "sh", "-c", script},
                                  with_env({"MEMWORK_REPORT_DIR=" + dir}));
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    uint32_t cmd = r.report["command_pid"];
    std::vector<uint32_t> pids = reported_pids(dir);
    REQUIRE(pids.size() == 3);
    const auto *g = program_named(r.report, "/memwork");
    REQUIRE(g);
    INFO(g->dump(2));
    CHECK((*g)["processes"] == 3);
    CHECK((*g)["max_peak_pid"] == cmd);
    auto truth = read_report(dir, cmd);
    REQUIRE(truth);
    CHECK(within_peak_bound((*g)["max_peak_rss_bytes"], truth->vm_hwm));
    uint64_t touched = (*g)["touched_bytes"];
    CHECK(touched >= 72 * MiB);
    CHECK(touched <= 72 * MiB + 3 * 8 * MiB);
    CHECK((*g)["running"] == 0);
    const auto *sh = program_named(r.report, "/sh");
    REQUIRE(sh);
    // the shell; its children count too before their exec if it forks them (dash
    // vforks: they run in its address space until exec and are no program of their own)
    CHECK((*sh)["processes"] >= 1);
    CHECK(r.report["processes"].size() == 3); // per-process data stays

    RunResult grouped = run_memtrace({"--children", "--", "sh", "-c", script});
    INFO(grouped.out);
    CHECK(grouped.out.find("PROCS") != std::string::npos);
    CHECK(count_rows(grouped.out, m + " +memwork +3 .*") == 1); // one memwork row, 3 processes
    CHECK(grouped.out.find("The command (pid ") != std::string::npos);

    RunResult each = run_memtrace({"--children", "--per-process", "--", "sh", "-c", script});
    INFO(each.out);
    CHECK(count_rows(each.out, " *[0-9]+ +memwork .*memwork keep (16|40)") == 3);
    CHECK(each.out.find("PROCS") == std::string::npos);

    RunResult bad = run_memtrace({"--per-process", "--", "true"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--per-process applies to --children and -a") != std::string::npos);
}

TEST_CASE("-a: processes grouped by program, and what the running ones hold", "[children][all]")
{
    require_root();
    std::vector<std::unique_ptr<Background>> idle;
    for (int i = 0; i < 3; ++i)
        idle.push_back(std::make_unique<Background>(std::vector<std::string>{workload("memwork"), "idle", "32"}));
    usleep(300000);
    JsonRun r = run_memtrace_json({"-a", "-d", "1", "--top", "5"});
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    const auto *g = program_named(r.report, "/memwork");
    REQUIRE(g);
    INFO(g->dump(2));
    CHECK((*g)["processes"] >= 3);
    CHECK((*g)["running"] >= 3);
    CHECK(uint64_t((*g)["final_rss_bytes"]) >= 3 * 32 * MiB);
    CHECK(uint64_t((*g)["max_peak_rss_bytes"]) >= 32 * MiB);
    uint64_t running = r.report["running_at_end"]["rss_bytes"];
    CHECK(running >= uint64_t((*g)["final_rss_bytes"]));
    CHECK(r.result.out.find("programs by the largest peak of one process") != std::string::npos);
    CHECK(r.result.out.find("Running at the end: ") != std::string::npos);
}

TEST_CASE("--children: what the traced processes held at one moment, against their own VmHWM", "[children][total]")
{
    require_root();
    std::string dir = report_dir();
    const std::string m = workload("memwork");
    // Two hold 64 and 96 MiB at the same time, then one 128 MiB alone: the sum's
    // peak is the pair's, above any one process's peak and below the sum of all peaks.
    JsonRun r = run_memtrace_json({"--children", "--", "sh", "-c",
                                   m + " --hold 1500 spike 64 & " + m + " --hold 1500 spike 96 & wait; " + m +
                                       " spike 128"},
                                  with_env({"MEMWORK_REPORT_DIR=" + dir}));
    INFO(r.result.err << r.result.out);
    REQUIRE(r.result.exit_code == 0);
    std::vector<uint64_t> hwm;
    for (uint32_t pid : reported_pids(dir)) {
        auto k = read_report(dir, pid);
        REQUIRE(k);
        hwm.push_back(k->vm_hwm);
    }
    REQUIRE(hwm.size() == 3);
    std::sort(hwm.begin(), hwm.end()); // 64, 96, 128 MiB and their libraries
    const nlohmann::json *sh = program_named(r.report, "/sh");
    REQUIRE(sh);
    const uint64_t sh_peak = (*sh)["max_peak_rss_bytes"];
    const uint64_t total = r.report["total_peak"]["rss_bytes"];
    const double at = r.report["total_peak"]["at_s"];
    INFO("total " << total << ", memwork VmHWM " << hwm[0] << " " << hwm[1] << " " << hwm[2] << ", sh " << sh_peak);
    // both at their peak while they hold, sh waiting beside them
    CHECK(total + 1 * MiB >= hwm[0] + hwm[1]);
    CHECK(total <= hwm[0] + hwm[1] + sh_peak + 1 * MiB);
    CHECK(total > hwm[2] + 16 * MiB);
    CHECK(at > 0);
    CHECK(at < r.report["duration_s"].get<double>());
    CHECK(r.result.out.find("All traced processes together: at most ") != std::string::npos);
}
