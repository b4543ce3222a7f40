// -f: per-call memory figures of named functions, against funcwork, whose
// functions allocate known amounts (tests/workloads/funcwork.cpp).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <unistd.h>

#include "harness.h"

using namespace e2e;

namespace {

std::string funcwork(const std::string &variant = "funcwork")
{
    return workload(variant);
}

const nlohmann::json &function(const JsonRun &r, const std::string &symbol)
{
    INFO("report: " << r.report.dump(1).substr(0, 4000) << "\nstderr: " << r.result.err);
    REQUIRE(r.report.contains("functions"));
    for (const auto &f : r.report["functions"])
        if (f["symbol"] == symbol || f["demangled"] == symbol)
            return f;
    FAIL("no function " << symbol << " in the report");
    static nlohmann::json none;
    return none;
}

uint64_t mib_of(const nlohmann::json &v)
{
    return v.get<uint64_t>();
}

// within 2% of `expected` (issue 3's bound for a transient spike)
bool within_2_percent(uint64_t measured, uint64_t expected)
{
    uint64_t diff = measured > expected ? measured - expected : expected - measured;
    return diff <= expected / 50;
}

bool near_zero(int64_t bytes)
{
    return bytes >= -int64_t(MiB) && bytes <= int64_t(MiB);
}

} // namespace

TEST_CASE("-f: a transient spike shows its whole peak, net zero", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "transient_spike", "--", funcwork(), "spike", "200"});
    REQUIRE(r.result.exit_code == 0);
    const auto &f = function(r, "transient_spike");
    CHECK(f["calls"] == 3);
    CHECK(f["returned"] == 3); // it ends by tail-calling munmap: returned through it
    CHECK(f["unreturned"] == 0);
    INFO("peak increment " << f["max_peak_increment_bytes"]);
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 200 * MiB));
    CHECK(near_zero(f["total_net_bytes"].get<int64_t>()));
    CHECK(f["pid"] == r.report["command_pid"]);
    CHECK(f["module"].get<std::string>().find("funcwork") != std::string::npos);
    CHECK(f["probe_hits"].get<uint64_t>() >= 3);
    // the peak RSS of a call can be no higher than the process's
    CHECK(mib_of(f["max_peak_rss_bytes"]) <= mib_of(r.report["processes"][0]["peak_rss_bytes"]));
    CHECK(r.result.out.find("Traced functions") != std::string::npos);
}

TEST_CASE("-f: kept memory: peak = net = the size kept", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "keep_memory", "--", funcwork(), "keep", "64"});
    const auto &f = function(r, "keep_memory");
    CHECK(f["calls"] == 3);
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 64 * MiB));
    int64_t net = f["total_net_bytes"];
    CHECK(net >= int64_t(3 * 64 * MiB) - int64_t(MiB));
    CHECK(net <= int64_t(3 * 64 * MiB) + int64_t(2 * MiB));
}

TEST_CASE("-f: nested functions each get their figures; outer >= inner", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "outer_call,inner_spike", "--", funcwork(), "nested", "100"});
    const auto &outer = function(r, "outer_call");
    const auto &inner = function(r, "inner_spike");
    CHECK(within_2_percent(mib_of(inner["max_peak_increment_bytes"]), 100 * MiB));
    CHECK(near_zero(inner["total_net_bytes"].get<int64_t>()));
    // outer keeps 50 MiB, then inner's 100 MiB spike happens on top of it
    CHECK(within_2_percent(mib_of(outer["max_peak_increment_bytes"]), 150 * MiB));
    CHECK(mib_of(outer["max_peak_increment_bytes"]) >= mib_of(inner["max_peak_increment_bytes"]));
    int64_t net = outer["total_net_bytes"];
    CHECK(net >= int64_t(49 * MiB));
    CHECK(net <= int64_t(52 * MiB));
}

TEST_CASE("-f: recursion folds into the outermost call", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "recurse_alloc", "--", funcwork(), "recurse", "4", "30"});
    const auto &f = function(r, "recurse_alloc");
    CHECK(f["calls"] == 1);
    CHECK(f["recursive_calls_folded"] == 4); // levels 3, 2, 1 and the depth-0 call
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 4 * 30 * MiB));
    CHECK(near_zero(f["total_net_bytes"].get<int64_t>()));
}

TEST_CASE("-f: a C++ exception thrown through a traced frame: the program lives on", "[functions]")
{
    require_root();
    // A uretprobe here would make the unwinder hit its trampoline: std::terminate.
    JsonRun r = run_memtrace_json({"-f", "throwing_frame,keep_memory", "--", funcwork(), "throw", "40"});
    INFO(r.result.err);
    CHECK(r.result.exit_code == 0);
    CHECK(r.result.out.find("caught 3 exceptions") != std::string::npos);
    const auto &f = function(r, "throwing_frame(unsigned long)");
    CHECK(f["calls"] == 3);
    CHECK(f["unreturned"] == 3);
    CHECK(f["returned"] == 0);
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 40 * MiB));
    // the functions it called returned normally, and are not disturbed
    const auto &keep = function(r, "keep_memory");
    CHECK(keep["returned"] == 3);
    CHECK(keep["unreturned"] == 0);
}

TEST_CASE("-f: longjmp out of a traced frame", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "jumping_frame", "--", funcwork(), "longjmp", "40"});
    CHECK(r.result.exit_code == 0);
    CHECK(r.result.out.find("came back by longjmp") != std::string::npos);
    const auto &f = function(r, "jumping_frame");
    CHECK(f["calls"] == 1);
    CHECK(f["unreturned"] == 1);
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 40 * MiB));
}

TEST_CASE("-f: a thread that ends inside a traced call; an exec from inside one", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "exiting_frame", "--", funcwork(), "thread_exit", "30"});
    CHECK(r.result.exit_code == 0);
    CHECK(r.result.out.find("the thread ended inside exiting_frame") != std::string::npos);
    const auto &f = function(r, "exiting_frame");
    CHECK(f["calls"] == 1);
    CHECK(f["unreturned"] == 1);
    CHECK(f["active"] == 0);
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 30 * MiB));

    JsonRun e = run_memtrace_json({"-f", "exec_frame", "--", funcwork(), "exec", "30"});
    CHECK(e.result.exit_code == 0); // /bin/true's status
    const auto &x = function(e, "exec_frame");
    CHECK(x["calls"] == 1);
    CHECK(x["unreturned"] == 1);
    CHECK(x["active"] == 0);
    CHECK(within_2_percent(mib_of(x["max_peak_increment_bytes"]), 30 * MiB));
    CHECK(e.report["processes"][0]["comm"] == "true");
}

TEST_CASE("-f: the peak is the process's: another thread's allocation counts", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-f", "wait_for_other", "--", funcwork(), "threads", "150"});
    const auto &f = function(r, "wait_for_other");
    CHECK(f["calls"] == 1);
    CHECK(f["returned"] == 1);
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 150 * MiB));
    CHECK(near_zero(f["total_net_bytes"].get<int64_t>()));
}

TEST_CASE("-f: a library the program dlopens after it started", "[functions]")
{
    require_root();
    std::string dir = std::string(MT_BUILD_DIR) + "/workloads";
    SECTION("named by its path")
    {
        JsonRun r = run_memtrace_json(
            {"-f", dir + "/libfuncwork_plugin.so:plugin_alloc", "--", funcwork(), "dlopen", "64"});
        const auto &f = function(r, "plugin_alloc");
        CHECK(f["calls"] == 3);
        CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 64 * MiB));
    }
    SECTION("named by its short name, found in LD_LIBRARY_PATH")
    {
        JsonRun r = run_memtrace_json({"-f", "libfuncwork_plugin:plugin_alloc", "--", funcwork(),
                                       "dlopen", "32"},
                                      with_env({"LD_LIBRARY_PATH=" + dir}));
        const auto &f = function(r, "plugin_alloc");
        CHECK(f["calls"] == 3);
        CHECK(f["module"].get<std::string>().find("libfuncwork_plugin.so") != std::string::npos);
    }
}

TEST_CASE("-f: PIE, non-PIE, stripped (.dynsym), separate debug file", "[functions]")
{
    require_root();
    for (const char *variant : {"funcwork", "funcwork-nopie", "funcwork-dynsym", "funcwork-debuglink"}) {
        DYNAMIC_SECTION(variant)
        {
            JsonRun r = run_memtrace_json({"-f", "transient_spike", "--", funcwork(variant), "spike", "50"});
            const auto &f = function(r, "transient_spike");
            CHECK(f["calls"] == 3);
            CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 50 * MiB));
        }
    }
    SECTION("the debug file found by build-id under --debuginfo-dir")
    {
        std::string dir = report_dir();
        std::string copy = dir + "/stripped-copy";
        std::filesystem::copy_file(funcwork("funcwork-debuglink"), copy);
        RunResult without = run_memtrace({"-f", "transient_spike", "--", copy, "spike", "1"});
        CHECK(without.exit_code == 2);
        CHECK(without.err.find("no function matches 'transient_spike'") != std::string::npos);
        JsonRun r = run_memtrace_json({"--debuginfo-dir", std::string(MT_BUILD_DIR) + "/workloads/debug",
                                       "-f", "transient_spike", "--", copy, "spike", "20"});
        const auto &f = function(r, "transient_spike");
        CHECK(f["calls"] == 3);
    }
}

TEST_CASE("-f: C++ names and globs", "[functions]")
{
    require_root();
    JsonRun r = run_memtrace_json(
        {"-f", "Index::build(unsigned long)", "-f", "build_*", "--", funcwork(), "build", "64"});
    const auto &index = function(r, "Index::build(unsigned long)");
    CHECK(index["symbol"] == "_ZN5Index5buildEm");
    CHECK(within_2_percent(mib_of(index["max_peak_increment_bytes"]), 64 * MiB));
    CHECK(within_2_percent(mib_of(function(r, "build_table")["total_net_bytes"]), 32 * MiB));
    CHECK(within_2_percent(mib_of(function(r, "build_tree")["total_net_bytes"]), 16 * MiB));
    CHECK(function(r, "build_table")["returned"] == 1); // one jmp: its callee returns for it
}

TEST_CASE("-f with -p: probes on a running process", "[functions][pid]")
{
    require_root();
    Background work({funcwork(), "--wait", "spike", "80"});
    std::string json = report_dir() + "/r.json";
    Background tracer({memtrace_bin(), "-p", std::to_string(work.pid()), "-f", "transient_spike",
                       "--json", json});
    REQUIRE(tracer.wait_for_stderr(", 1 function ("));
    work.send_stdin("go\n");
    CHECK(work.wait().exit_code == 0);
    CHECK(tracer.wait(30).exit_code == 0);
    std::ifstream in(json);
    nlohmann::json report = nlohmann::json::parse(in);
    REQUIRE(report["functions"].size() == 1);
    const auto &f = report["functions"][0];
    CHECK(f["calls"] == 3);
    CHECK(f["pid"] == work.pid());
    CHECK(within_2_percent(mib_of(f["max_peak_increment_bytes"]), 80 * MiB));
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("-f with --children: one row per process", "[functions][children]")
{
    require_root();
    std::string w = funcwork();
    JsonRun r = run_memtrace_json({"--children", "-f", w + ":transient_spike", "--", "sh", "-c",
                                   w + " spike 30 & " + w + " spike 50 & wait"});
    std::vector<uint64_t> peaks;
    for (const auto &f : r.report["functions"])
        if (f["calls"] == 3)
            peaks.push_back(mib_of(f["max_peak_increment_bytes"]) / MiB);
    std::sort(peaks.begin(), peaks.end());
    CHECK(peaks == std::vector<uint64_t>{30, 50});
    // grouped by program and function: calls summed, the largest peak increment
    const nlohmann::json *grouped = nullptr;
    for (const auto &f : r.report["functions_by_program"])
        if (f["symbol"] == "transient_spike" && f["processes"] == 2)
            grouped = &f;
    REQUIRE(grouped);
    CHECK((*grouped)["calls"] == 6);
    CHECK(mib_of((*grouped)["max_peak_increment_bytes"]) / MiB == 50);
    CHECK(r.result.out.find("Traced functions, per program") != std::string::npos);
}

TEST_CASE("-f: a hot function is reported while tracing, its cost at the end", "[functions]")
{
    require_root();
    RunResult r = run_memtrace({"--hot-limit", "100", "-f", "tiny_call", "--", funcwork(), "loop", "30000"});
    CHECK(r.exit_code == 0);
    INFO(r.err);
    CHECK(r.err.find("warning: 'tiny_call' is called") != std::string::npos);
    CHECK(r.err.find("times/s") != std::string::npos);
    CHECK(r.out.find("Probe cost: 60,000 probe hits") != std::string::npos);
    CHECK(r.out.find("a hit, measured") != std::string::npos);
}

TEST_CASE("-f: probe costs are measured: calls x cost of a hit = the total, each part non-zero",
          "[functions][cost]")
{
    require_root();
    JsonRun r = run_memtrace_json({"--hot-limit", "100", "-f", "tiny_call", "--", funcwork(), "loop", "20000"});
    INFO(r.result.err);
    REQUIRE(r.result.exit_code == 0);
    CHECK(r.result.err.find("µs a call, measured") != std::string::npos);
    CHECK(r.report["memtrace"]["bpf_run_time_ns"].get<uint64_t>() > 0); // statistics were on
    const nlohmann::json *tiny = nullptr;
    for (const auto &f : r.report["functions"])
        if (f["symbol"] == "tiny_call")
            tiny = &f;
    REQUIRE(tiny);
    const nlohmann::json &cost = (*tiny)["probe_cost"];
    CHECK(cost["measured"] == true);
    CHECK(cost["entry_hits"] == 20000);
    CHECK(cost["return_hits"] == 20000);
    const double entry_us = cost["entry_hit_us"], return_us = cost["return_hit_us"];
    // a trap and a BPF program run: more than a syscall, less than a millisecond
    CHECK(entry_us > 0.3);
    CHECK(entry_us < 1000);
    CHECK(return_us > 0.3);
    CHECK(return_us < 1000);
    const double total_s = (*tiny)["estimated_probe_cost_s"];
    CHECK(total_s == Approx((20000 * entry_us + 20000 * return_us) / 1e6).epsilon(0.01));
}

TEST_CASE("-f: bad patterns are refused before tracing", "[functions][bad-input]")
{
    require_root();
    auto refused = [](const RunResult &r, const std::string &text) {
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(text) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(memtrace_programs_loaded().empty());
    };
    refused(run_memtrace({"-f", "bulid_tabel", "--", funcwork(), "keep", "1"}),
            "closest: build_table");
    refused(run_memtrace({"-f", "libnothere:f", "--", funcwork(), "keep", "1"}), "no module 'libnothere'");
    refused(run_memtrace({"--max-probes", "1", "-f", "build_*", "--", funcwork(), "keep", "1"}),
            "more than 1 functions");
    refused(run_memtrace({"-a", "-f", "malloc"}), "name the module");
    refused(run_memtrace({"-f", "", "--", "true"}), "-f needs a function pattern");
}

TEST_CASE("--list-funcs shows what a pattern would trace, without root", "[functions][cli]")
{
    RunResult r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", memtrace_bin(),
                       "--list-funcs", "build_*", funcwork()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("build_table") != std::string::npos);
    CHECK(r.out.find("build_tree") != std::string::npos);
    CHECK(r.out.find("2 functions in") != std::string::npos);
    RunResult none = run_memtrace({"--list-funcs", "zzz_none", funcwork()});
    CHECK(none.exit_code == 2);
}

TEST_CASE("-f MODULE:NAME for a program a child execs later, by its file's name", "[functions][children][exec]")
{
    require_root();
    const std::string w = funcwork();
    // No process has funcwork at start (sh runs, then forks and execs it): the
    // patterns wait; its exec is held until the probes are in, so even main's
    // one call is seen.
    JsonRun r = run_memtrace_json({"--children", "-f", "funcwork:main,funcwork:outer_call,funcwork:inner_spike",
                                   "--", "sh", "-c", w + " nested 100; true"});
    REQUIRE(r.result.exit_code == 0);
    CHECK(r.result.err.find("waits for a program the traced processes exec") != std::string::npos);
    CHECK(r.result.err.find("probed before its first instruction") != std::string::npos);
    CHECK(function(r, "main")["calls"] == 1);
    const auto &outer = function(r, "outer_call");
    const auto &inner = function(r, "inner_spike");
    CHECK(outer["calls"] == 1);
    CHECK(inner["calls"] == 1);
    CHECK(within_2_percent(mib_of(inner["max_peak_increment_bytes"]), 100 * MiB));
    CHECK(near_zero(inner["total_net_bytes"].get<int64_t>()));
    CHECK(within_2_percent(mib_of(outer["max_peak_increment_bytes"]), 150 * MiB));
    int64_t net = outer["total_net_bytes"];
    CHECK(net >= int64_t(49 * MiB));
    CHECK(net <= int64_t(52 * MiB));
}

namespace {

// The pid of a process running `exe` (full path) in state `state`, or -1.
pid_t process_running(const std::string &exe, char state)
{
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::error_code ec;
        if (std::filesystem::read_symlink(entry.path() / "exe", ec) != exe || ec)
            continue;
        std::ifstream stat(entry.path() / "stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        size_t close = text.rfind(')');
        if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == state)
            return static_cast<pid_t>(std::stoi(name));
    }
    return -1;
}

} // namespace

TEST_CASE("-f for a program exec'd later: a process held when memtrace is killed (-9) is resumed",
          "[functions][children][exec]")
{
    require_root();
    const std::string w = funcwork();
    // the command runs once memtrace holds execs: it marks that, then execs funcwork a second later
    const std::string dir = report_dir(), started = dir + "/started", done = dir + "/done";
    Background mt({memtrace_bin(), "--children", "-f", "funcwork:main", "--", "sh", "-c",
                   "touch " + started + "; sleep 1; " + w + " spike 10 && touch " + done});
    for (int i = 0; i < 300 && !std::filesystem::exists(started); ++i)
        usleep(100 * 1000);
    REQUIRE(std::filesystem::exists(started));
    // memtrace stopped: funcwork's exec is held and no one reads its record
    mt.signal(SIGSTOP);
    pid_t held = -1;
    for (int i = 0; i < 100 && held < 0; ++i) {
        usleep(100 * 1000);
        held = process_running(w, 'T');
    }
    REQUIRE(held > 0);
    mt.signal(SIGKILL);
    mt.wait(30);
    // The kernel side resumes it as memtrace's last thread exits, and it runs to
    // its end. (Without that, a held process stays stopped, or when its process
    // group is orphaned, as the command's is here, the kernel sends the group
    // SIGHUP then SIGCONT: it dies.)
    for (int i = 0; i < 100 && !std::filesystem::exists(done); ++i)
        usleep(100 * 1000);
    if (process_running(w, 'T') == held)
        kill(held, SIGKILL); // left stopped: the test fails, the machine is not left with it
    CHECK(std::filesystem::exists(done));
}

TEST_CASE("-f NAME with --children: found in a program exec'd later; never found: said at the end",
          "[functions][children][exec]")
{
    require_root();
    const std::string w = funcwork();
    // three children run funcwork: its exec is held once, its probes serve all three
    JsonRun r = run_memtrace_json({"--children", "-f", "transient_spike", "--", "sh", "-c",
                                   w + " spike 30; " + w + " spike 40; " + w + " spike 50; true"});
    REQUIRE(r.result.exit_code == 0);
    std::vector<uint64_t> peaks;
    for (const auto &f : r.report["functions"])
        if (f["symbol"] == "transient_spike" && f["calls"] == 3)
            peaks.push_back((mib_of(f["max_peak_increment_bytes"]) + MiB / 2) / MiB);
    std::sort(peaks.begin(), peaks.end());
    INFO(r.report["functions"].dump(1) << "\n" << r.result.err);
    CHECK(peaks == std::vector<uint64_t>{30, 40, 50});

    RunResult none = run_memtrace({"--children", "-f", "nosuchprog:f,no_such_function", "--", "sh", "-c", "true; true"});
    INFO(none.err);
    CHECK(none.exit_code == 0);
    CHECK(none.err.find("no traced process ran a program or library 'nosuchprog'") != std::string::npos);
    CHECK(none.err.find("'no_such_function': no function of that name") != std::string::npos);
    // without --children nothing else can run: refused at once, as before
    RunResult refused = run_memtrace({"-f", "nosuchprog:f", "--", "true"});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("no module 'nosuchprog'") != std::string::npos);
}
