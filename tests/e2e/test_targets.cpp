// Attaching to running processes, following children, every process, and the
// ways a trace ends (targets exit, -d, signals), with results always written.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

using namespace e2e;

namespace {

nlohmann::json read_json(const std::string &file)
{
    std::ifstream in(file);
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

const nlohmann::json *find_pid(const nlohmann::json &report, uint32_t pid)
{
    for (const auto &p : report["processes"])
        if (p["pid"] == pid)
            return &p;
    return nullptr;
}

// Waits until memtrace's command (its child, running `comm`) has `bytes`
// resident: a fixed sleep is too short for a sanitized memtrace.
bool command_resident(pid_t tracer, const std::string &comm, uint64_t bytes, double timeout_s = 20)
{
    for (int i = 0; i < timeout_s * 20; ++i, usleep(50000)) {
        std::ifstream children("/proc/" + std::to_string(tracer) + "/task/" + std::to_string(tracer) + "/children");
        pid_t child = 0;
        if (!(children >> child))
            continue;
        std::string name;
        std::getline(std::ifstream("/proc/" + std::to_string(child) + "/comm"), name);
        if (name != comm)
            continue;
        std::ifstream status("/proc/" + std::to_string(child) + "/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("VmRSS:", 0) == 0 && std::stoull(line.substr(6)) * KiB >= bytes)
                return true;
    }
    return false;
}

} // namespace

TEST_CASE("-p attaches to a running process and ends when it exits", "[pid]")
{
    require_root();
    std::string dir = report_dir();
    // The workload waits for a line on stdin, so memtrace attaches before it allocates.
    Background work({workload("memwork"), "--wait", "keep", "150"},
                    with_env({"MEMWORK_REPORT_DIR=" + dir}));
    std::string json = dir + "/report.json";
    Background tracer({memtrace_bin(), "-p", std::to_string(work.pid()), "--json", json});
    REQUIRE(tracer.wait_for_stderr("memtrace: tracing pid " + std::to_string(work.pid())));
    work.send_stdin("go\n");
    RunResult w = work.wait();
    REQUIRE(w.exit_code == 0);
    RunResult t = tracer.wait(30);
    INFO(t.err);
    REQUIRE(t.exit_code == 0);

    nlohmann::json report = read_json(json);
    INFO("report: " << report.dump(1));
    CHECK(report["mode"] == "pids");
    const auto *p = find_pid(report, static_cast<uint32_t>(work.pid()));
    REQUIRE(p);
    CHECK((*p)["origin"] == "attached");
    CHECK((*p)["exit_code"] == 0);
    CHECK((*p)["cmdline"].get<std::string>().find("memwork --wait keep 150") != std::string::npos);
    uint64_t peak = (*p)["peak_rss_bytes"];
    auto truth = read_report(dir, static_cast<uint32_t>(work.pid()));
    REQUIRE(truth);
    // The peak happened while traced: it equals the kernel's, from wait4 and from VmHWM.
    uint64_t maxrss = static_cast<uint64_t>(work.usage().ru_maxrss) * KiB;
    INFO("VmHWM " << bound_text(peak, truth->vm_hwm) << "; ru_maxrss " << bound_text(peak, maxrss));
    CHECK(within_peak_bound(peak, truth->vm_hwm));
    CHECK(within_peak_bound(peak, maxrss));
    CHECK(uint64_t((*p)["start_rss_bytes"]) < 8 * MiB);
    CHECK(uint64_t((*p)["touched_bytes"]) >= 150 * MiB);
    CHECK(uint64_t((*p)["page_faults"]) >= 150 * MiB / 4096);
    CHECK(t.out.find("traced pid " + std::to_string(work.pid())) != std::string::npos);
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("-p with several processes and -d: stops on time, all reported", "[pid]")
{
    require_root();
    Background a({workload("memwork"), "idle", "40"});
    Background b({workload("memwork"), "idle", "80"});
    usleep(300000); // let them touch their memory
    std::string pids = std::to_string(a.pid()) + "," + std::to_string(b.pid());
    JsonRun r = run_memtrace_json({"-p", pids, "-d", "1"});
    INFO(r.result.err);
    CHECK(r.result.exit_code == 0);
    CHECK(r.report["end_reason"].get<std::string>().find("-d 1") != std::string::npos);
    CHECK(r.report["duration_s"].get<double>() >= 0.9);
    CHECK(r.report["duration_s"].get<double>() < 5);
    for (auto [proc, mib] : {std::pair{&a, 40}, std::pair{&b, 80}}) {
        const auto *p = r.process(static_cast<uint32_t>(proc->pid()));
        REQUIRE(p);
        CHECK((*p)["running"] == true);
        CHECK((*p)["exit_code"].is_null());
        uint64_t rss = (*p)["final_rss_bytes"];
        CHECK(rss >= uint64_t(mib) * MiB);
        CHECK(rss == uint64_t((*p)["start_rss_bytes"])); // idle: nothing changed
    }
    // the processes were not disturbed
    CHECK(kill(a.pid(), 0) == 0);
    CHECK(kill(b.pid(), 0) == 0);
}

TEST_CASE("-p given a thread id traces its process", "[pid]")
{
    require_root();
    Background work({workload("memwork"), "--hold", "3000", "threads", "8", "2"});
    usleep(300000);
    // any thread that is not the leader
    pid_t tid = 0;
    for (int i = 0; i < 50 && !tid; ++i, usleep(20000)) {
        RunResult ls = run({"ls", "/proc/" + std::to_string(work.pid()) + "/task"});
        std::istringstream names(ls.out);
        std::string name;
        while (names >> name)
            if (std::stoi(name) != work.pid())
                tid = std::stoi(name);
    }
    if (!tid)
        FAIL("the workload's threads ended too soon");
    JsonRun r = run_memtrace_json({"-p", std::to_string(tid), "-d", "0.5"});
    CHECK(r.result.err.find("is a thread of process " + std::to_string(work.pid())) !=
          std::string::npos);
    CHECK(r.process(static_cast<uint32_t>(work.pid())));
}

TEST_CASE("--children follows fork and exec; without it only the command", "[children]")
{
    require_root();
    std::string dir = report_dir();
    JsonRun r = run_memtrace_json({"--children", "--", workload("memwork"), "forkexec", "120"},
                                  with_env({"MEMWORK_REPORT_DIR=" + dir}));
    REQUIRE(r.result.exit_code == 0);
    uint32_t parent = r.report["command_pid"];
    std::vector<uint32_t> pids = reported_pids(dir);
    REQUIRE(pids.size() == 2);
    uint32_t child = pids[0] == parent ? pids[1] : pids[0];
    const auto *c = r.process(child);
    REQUIRE(c);
    CHECK((*c)["ppid"] == parent);
    CHECK((*c)["origin"] == "forked");
    CHECK((*c)["execed"] == true);
    CHECK((*c)["cmdline"] == "memwork keep 120");
    CHECK((*c)["comm"] == "memwork");
    auto truth = read_report(dir, child);
    REQUIRE(truth);
    uint64_t peak = (*c)["peak_rss_bytes"];
    INFO(bound_text(peak, truth->vm_hwm));
    CHECK(within_peak_bound(peak, truth->vm_hwm));
    CHECK(peak >= 120 * MiB);
    const auto *p = r.process(parent);
    REQUIRE(p);
    CHECK(uint64_t((*p)["peak_rss_bytes"]) < 16 * MiB); // the parent itself stays small

    JsonRun alone = run_memtrace_json({"--", workload("memwork"), "forkexec", "20"});
    CHECK(alone.report["processes"].size() == 1);
}

TEST_CASE("-a sees a known process among all", "[all]")
{
    require_root();
    Background work({workload("memwork"), "idle", "96"});
    usleep(300000);
    JsonRun r = run_memtrace_json({"-a", "-d", "1", "--top", "3"});
    INFO(r.result.err);
    CHECK(r.result.exit_code == 0);
    CHECK(r.report["mode"] == "all");
    const auto *p = r.process(static_cast<uint32_t>(work.pid()));
    REQUIRE(p);
    CHECK(uint64_t((*p)["peak_rss_bytes"]) >= 96 * MiB);
    CHECK((*p)["cmdline"] == workload("memwork") + " idle 96");
    CHECK(r.report["processes"].size() >= 3);
    CHECK_FALSE(r.process(static_cast<uint32_t>(getpid())) == nullptr); // this test program too
    CHECK(r.result.out.find("Top 3 by peak RSS") != std::string::npos);
    CHECK(r.result.out.find("Top 3 by growth") != std::string::npos);
}

TEST_CASE("-a --folded: memtrace's own work is not in the stacks (nor in the table)", "[all]")
{
    require_root();
    const std::string dir = report_dir();
    const std::string folded = dir + "/all.folded", json = dir + "/all.json";
    Background tracer({memtrace_bin(), "-a", "-d", "2", "--folded", folded, "--per-pid", "--json", json});
    REQUIRE(tracer.wait_for_stderr("memtrace: tracing every process"));
    RunResult w = run({workload("memwork"), "spike", "64"}, with_env({"MEMWORK_REPORT_DIR=" + dir}));
    REQUIRE(w.exit_code == 0);
    RunResult t = tracer.wait(60);
    REQUIRE(t.exit_code == 0);
    const std::string self = "memtrace-" + std::to_string(tracer.pid());
    auto lines = read_folded(folded);
    uint64_t own = 0, memwork = 0;
    for (const auto &[stack, bytes] : lines) {
        if (stack.rfind(self + ";", 0) == 0)
            own += bytes;
        if (stack.rfind("memwork-", 0) == 0)
            memwork += bytes;
    }
    CHECK(own == 0);          // memtrace reads maps, unwinds and names: none of it is traced
    CHECK(memwork >= 63 * MiB); // while what it traces is
    CHECK(find_pid(read_json(json), static_cast<uint32_t>(tracer.pid())) == nullptr);
}

TEST_CASE("-a catches processes that start and end during the trace", "[all]")
{
    require_root();
    std::string json = report_dir() + "/all.json";
    Background tracer({memtrace_bin(), "-a", "-d", "3", "--json", json});
    REQUIRE(tracer.wait_for_stderr("memtrace: tracing every process"));
    std::string dir = report_dir();
    RunResult w = run({workload("memwork"), "spike", "64"}, with_env({"MEMWORK_REPORT_DIR=" + dir}));
    REQUIRE(w.exit_code == 0);
    RunResult t = tracer.wait(30);
    REQUIRE(t.exit_code == 0);
    std::vector<uint32_t> pids = reported_pids(dir);
    REQUIRE(pids.size() == 1);
    nlohmann::json report = read_json(json);
    const auto *p = find_pid(report, pids[0]);
    REQUIRE(p);
    CHECK((*p)["exit_code"] == 0);
    CHECK((*p)["cmdline"] == workload("memwork") + " spike 64");
    uint64_t peak = (*p)["peak_rss_bytes"];
    auto truth = read_report(dir, pids[0]);
    INFO(bound_text(peak, truth->vm_hwm));
    CHECK(within_peak_bound(peak, truth->vm_hwm));
}

TEST_CASE("-a past 1,000 ended processes: the program's row counts every run", "[all][bounded]")
{
    require_root();
    // A copy of memwork under a name of its own: no other process on the machine runs it.
    const std::string dir = report_dir();
    const std::string program = dir + "/manyruns";
    {
        std::ifstream from(workload("memwork"), std::ios::binary);
        std::ofstream to(program, std::ios::binary);
        to << from.rdbuf();
    }
    REQUIRE(chmod(program.c_str(), 0755) == 0);
    const std::string json = dir + "/many.json";
    Background tracer({memtrace_bin(), "-a", "-d", "300", "--json", json, "-o", dir + "/many.txt"});
    REQUIRE(tracer.wait_for_stderr("memtrace: tracing every process"));
    constexpr int runs = 1200; // past the 1,000 ended processes the report lists one by one
    for (int i = 0; i < runs; ++i) { // each run: 1 MiB malloc'd and touched, then exit
        RunResult r = run({program, "keep", "1"});
        REQUIRE(r.exit_code == 0);
    }
    usleep(500000); // the last exits reach memtrace
    tracer.signal(SIGINT);
    RunResult t = tracer.wait(120);
    INFO(t.err);
    REQUIRE(t.exit_code == 0);
    nlohmann::json report = read_json(json);
    CHECK(report["end_reason"] == "interrupted by SIGINT");
    const nlohmann::json *row = nullptr;
    for (const auto &g : report["programs"])
        if (g["program"] == program)
            row = &g;
    REQUIRE(row);
    CHECK((*row)["processes"] == runs);
    CHECK((*row)["running"] == 0);
    // each run touched its 1 MiB, plus its stack, libc's data and the loader's pages
    const uint64_t touched = (*row)["touched_bytes"];
    INFO("touched " << touched / MiB << " MiB in " << runs << " runs");
    CHECK(touched >= runs * MiB);
    CHECK(touched <= runs * 3 * MiB);
    CHECK(uint64_t((*row)["max_peak_rss_bytes"]) >= 1 * MiB);
    size_t listed = 0;
    for (const auto &p : report["processes"])
        listed += p["exe"] == program;
    CHECK(listed < size_t(runs));
    REQUIRE(report.contains("unlisted_programs"));
    uint64_t unlisted = 0;
    for (const auto &g : report["unlisted_programs"])
        if (g["program"] == program)
            unlisted = g["processes"];
    CHECK(listed + unlisted == size_t(runs));
    std::ifstream text(dir + "/many.txt");
    std::string all((std::istreambuf_iterator<char>(text)), std::istreambuf_iterator<char>());
    CHECK(all.find("the programs table counts them all") != std::string::npos);
}

TEST_CASE("SIGINT / SIGTERM: results written, the right exit code", "[signals]")
{
    require_root();

    SECTION("-p: Ctrl-C ends the trace with 0, the target keeps running")
    {
        Background work({workload("memwork"), "idle", "30"});
        std::string json = report_dir() + "/r.json";
        Background tracer({memtrace_bin(), "-p", std::to_string(work.pid()), "--json", json});
        REQUIRE(tracer.wait_for_stderr("memtrace: tracing"));
        tracer.signal(SIGINT);
        RunResult t = tracer.wait(10);
        CHECK(t.exit_code == 0);
        nlohmann::json report = read_json(json);
        CHECK(report["end_reason"] == "interrupted by SIGINT");
        CHECK(find_pid(report, static_cast<uint32_t>(work.pid())));
        CHECK(kill(work.pid(), 0) == 0);
    }
    SECTION("-- CMD: a terminal's Ctrl-C reaches both; memtrace returns the command's 130")
    {
        std::string json = report_dir() + "/r.json";
        Background tracer({memtrace_bin(), "--json", json, "--", workload("memwork"), "idle", "20"});
        REQUIRE(command_resident(tracer.pid(), "memwork", 20 * MiB));
        kill(-tracer.pid(), SIGINT); // the process group, as a terminal does
        RunResult t = tracer.wait(10);
        CHECK(t.exit_code == 130);
        nlohmann::json report = read_json(json);
        const auto &p = report["processes"][0];
        CHECK(p["exit_signal"] == "SIGINT");
        CHECK(uint64_t(p["peak_rss_bytes"]) >= 20 * MiB);
    }
    SECTION("-- CMD: SIGTERM to memtrace alone leaves the command running, untraced")
    {
        std::string json = report_dir() + "/r.json";
        Background tracer({memtrace_bin(), "--json", json, "--", workload("memwork"), "idle", "20"});
        REQUIRE(command_resident(tracer.pid(), "memwork", 20 * MiB));
        tracer.signal(SIGTERM);
        RunResult t = tracer.wait(10);
        CHECK(t.exit_code == 143);
        CHECK(t.err.find("keeps running, untraced") != std::string::npos);
        nlohmann::json report = read_json(json);
        const auto &p = report["processes"][0];
        CHECK(p["running"] == true);
        uint32_t pid = p["pid"];
        CHECK(kill(static_cast<pid_t>(pid), 0) == 0);
        kill(static_cast<pid_t>(pid), SIGKILL);
    }
    CHECK(memtrace_programs_loaded().empty());
}

TEST_CASE("-d with a command ends it like timeout(1)", "[duration]")
{
    require_root();
    JsonRun r = run_memtrace_json({"-d", "0.5", "--", workload("memwork"), "idle", "10"});
    CHECK(r.result.exit_code == 143);
    const auto &p = r.report["processes"][0];
    CHECK(p["exit_signal"] == "SIGTERM");
    CHECK(r.report["end_reason"] == "stopped after -d 0.5 s");
}

TEST_CASE("--interval prints progress lines on stderr", "[interval]")
{
    require_root();
    RunResult r = run_memtrace({"-i", "0.2", "--", workload("memwork"), "--hold", "900", "keep", "32"});
    REQUIRE(r.exit_code == 0);
    INFO(r.err);
    size_t lines = 0;
    for (size_t at = r.err.find("] "); at != std::string::npos; at = r.err.find("] ", at + 1))
        ++lines;
    CHECK(lines >= 3);
    CHECK(r.err.find(" memwork  rss ") != std::string::npos);
    CHECK(r.err.find("peak 3") != std::string::npos); // ~33 MiB once touched
}

TEST_CASE("under sudo the command runs as the invoking user; --as-root keeps root", "[sudo]")
{
    require_root();
    RunOptions as_nobody = with_env({"SUDO_UID=65534", "SUDO_GID=65534", "SUDO_USER=nobody"});
    RunResult user = run_memtrace({"-q", "-o", "/dev/null", "--", "id", "-u"}, as_nobody);
    CHECK(user.exit_code == 0);
    CHECK(user.out == "65534\n");
    RunResult root = run_memtrace({"-q", "-o", "/dev/null", "--as-root", "--", "id", "-u"}, as_nobody);
    CHECK(root.out == "0\n");
}
