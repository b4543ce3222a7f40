// The collect stage driven by a fake kernel side: no root, no BPF.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <vector>

#include "collect/collector.h"
#include "collect/kernel_figures.h"
#include "fake_kernel.h"

using namespace memtrace;
using memtrace::testing::bytes_of;
using memtrace::testing::FakeKernel;

namespace {

// Pids above the kernel's pid_max limit (2^22): no real process has them.
constexpr uint32_t kPid = 4194400;

class CapturedProgress final : public Progress {
public:
    std::vector<std::string> lines;
    void info(const std::string &line) override { lines.push_back(line); }
    void warning(const std::string &line) override { lines.push_back("warning: " + line); }
    void detail(const std::string &line) override { lines.push_back("detail: " + line); }
    void hot(const HotFunction &f) override
    {
        lines.push_back("hot: " + f.name);
        hots.push_back(f);
    }
    std::vector<HotFunction> hots;
    void live(double, const std::vector<LiveProcess> &processes, size_t rows) override
    {
        for (size_t i = 0; i < processes.size() && i < rows; ++i)
            lines.push_back("live: " + processes[i].now.comm);
    }
};

mt_proc running(uint32_t pid, uint64_t rss_pages, uint64_t peak_pages, uint32_t flags)
{
    mt_proc p{};
    p.tgid = pid;
    p.ppid = 1;
    std::strncpy(p.comm, "worker", sizeof(p.comm));
    p.flags = flags;
    p.pages[MT_RSS_ANON] = static_cast<int64_t>(rss_pages);
    p.peak_rss = peak_pages;
    return p;
}

std::vector<std::byte> exec_record(uint32_t pid, const char *comm, const char *args, size_t args_len)
{
    mt_rec_exec rec{};
    rec.hdr.type = MT_REC_EXEC;
    rec.hdr.tgid = pid;
    rec.ppid = kPid;
    std::strncpy(rec.comm, comm, sizeof(rec.comm));
    std::memcpy(rec.args, args, args_len);
    rec.args_len = static_cast<uint32_t>(args_len);
    return bytes_of(rec);
}

std::vector<std::byte> exit_record(const mt_proc &proc)
{
    mt_rec_exit rec{};
    rec.hdr.type = MT_REC_EXIT;
    rec.hdr.tgid = proc.tgid;
    rec.proc = proc;
    return bytes_of(rec);
}

} // namespace

TEST_CASE("collector: -a until -d; exec and exit records and map snapshots become processes")
{
    SignalInbox signals;
    FakeKernel kernel;
    kernel.procs = {running(kPid, 100, 150, MT_PROC_ATTACHED)};
    TraceConfig config;
    config.mode = TraceMode::All;
    config.duration_s = 0.2;
    CapturedProgress progress;
    Collector collector(kernel, config, {}, progress);
    collector.seed();
    CHECK(kernel.seeded == 1);

    const char args[] = "child\0--fast";
    kernel.send(exec_record(kPid + 1, "child", args, sizeof(args) - 1));
    mt_proc ended = running(kPid + 1, 10, 5000, MT_PROC_FORKED | MT_PROC_EXECED | MT_PROC_EXITED);
    ended.exit_code = 3 << 8;
    kernel.send(exit_record(ended));
    kernel.send(std::vector<std::byte>(3)); // too short to be a record

    const Stop stop = collector.run(signals);
    CHECK(stop.cause == StopCause::Duration);
    Collected out = collector.finish(stop, std::nullopt);
    const CollectedRun &run = out.run;
    REQUIRE(run.processes.size() == 2);
    const ProcessRecord &child = run.processes[0]; // ended first, then live
    CHECK(child.pid == kPid + 1);
    CHECK(child.cmdline == "child --fast");
    CHECK(child.exit_code() == 3);
    CHECK(child.peak_rss == 5000 * 4096);
    CHECK(run.processes[1].pid == kPid);
    CHECK(run.processes[1].final_rss == 100 * 4096);
    CHECK(run.stats.malformed_records == 1);
    CHECK(run.duration_s >= 0.2);
    CHECK_FALSE(out.stacks);
    REQUIRE_FALSE(progress.lines.empty());
    CHECK(progress.lines[0] == "tracing every process (1 running); Ctrl-C to stop");
}

TEST_CASE("collector: a signal stops the run and is named")
{
    SignalInbox signals;
    FakeKernel kernel;
    TraceConfig config;
    config.mode = TraceMode::All;
    config.duration_s = 30; // the signal comes long before
    CapturedProgress progress;
    Collector collector(kernel, config, {}, progress);
    collector.seed();
    raise(SIGTERM); // blocked: waits on the inbox
    const Stop stop = collector.run(signals);
    CHECK(stop.cause == StopCause::Signal);
    CHECK(stop.signal == SIGTERM);
}

TEST_CASE("collector: a -p target is watched until it exits; a gone one is refused")
{
    SignalInbox signals;
    FakeKernel kernel;
    TraceConfig config;
    config.mode = TraceMode::Pids;
    CapturedProgress progress;

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        usleep(100000);
        _exit(0);
    }
    kernel.procs = {running(static_cast<uint32_t>(child), 10, 10, MT_PROC_ATTACHED)};
    CollectPlan plan;
    plan.pids = {child};
    Collector collector(kernel, config, plan, progress);
    collector.seed();
    CHECK(collector.run(signals).cause == StopCause::TargetsEnded);
    waitpid(child, nullptr, 0);
    Collected out = collector.finish({StopCause::TargetsEnded, 0}, std::nullopt);
    CHECK(out.run.pids == std::vector<uint32_t>{static_cast<uint32_t>(child)});

    FakeKernel empty; // the kernel side never saw it
    Collector refused(empty, config, plan, progress);
    CHECK_THROWS_WITH(refused.seed(), Catch::Contains("exited while memtrace was attaching"));
}

TEST_CASE("collector: timeline points and call marks, in bytes and seconds, by function name")
{
    SignalInbox signals;
    FakeKernel kernel;
    TraceConfig config;
    config.mode = TraceMode::All;
    config.duration_s = 0.1;
    config.timeline = true;
    config.resolution_ms = 10;
    CapturedProgress progress;
    CollectPlan plan;
    plan.functions = {{"_Z5spikev", "spike()", "/bin/app", 1.3, 21, 0, 0, false, "/bin/app", 0x1000, 64}};
    Collector collector(kernel, config, plan, progress);
    collector.seed();
    const uint64_t start = monotonic_ns();

    mt_rec_point point{};
    point.hdr.type = MT_REC_POINT;
    point.hdr.tgid = kPid;
    point.hdr.ts_ns = start + 50'000'000;
    point.rss_end = 10;
    point.rss_max = 300;
    kernel.send(bytes_of(point));
    mt_rec_mark mark{};
    mark.hdr.type = MT_REC_MARK;
    mark.hdr.tgid = kPid;
    mark.hdr.ts_ns = start + 40'000'000;
    mark.tid = kPid + 1;
    mark.func = 0;
    mark.entry_ns = start + 20'000'000;
    mark.base = 10;
    mark.peak = 300;
    mark.rss_end = 12;
    mark.returned = 1;
    kernel.send(bytes_of(mark));
    mt_func_stats s{};
    s.calls = 1;
    s.max_peak_inc = 290;
    s.marks_dropped = 4;
    kernel.func_stats = {{{kPid, 0}, s}};

    const Stop stop = collector.run(signals);
    Collected out = collector.finish(stop, std::nullopt);
    REQUIRE(out.run.recording);
    const Recording &rec = *out.run.recording;
    CHECK(rec.resolution == Approx(0.01));
    REQUIRE(rec.points.size() == 1);
    CHECK(rec.points[0].pid == kPid);
    CHECK(rec.points[0].max_rss == 300 * 4096);
    CHECK(rec.points[0].t == Approx(0.05).margin(0.02));
    REQUIRE(rec.marks.size() == 1);
    CHECK(rec.marks[0].function == "spike()");
    CHECK(rec.marks[0].peak - rec.marks[0].base == 290 * 4096);
    CHECK(rec.marks[0].end - rec.marks[0].start == Approx(0.02).margin(0.001));
    CHECK(rec.marks_dropped == 4);
    REQUIRE(out.run.functions.totals.size() == 1);
    CHECK(out.run.functions.totals[0].max_peak_increment == 290 * 4096);
}

TEST_CASE("collector: -f probe costs are the trap plus the BPF programs' measured run time per hit")
{
    SignalInbox signals;
    FakeKernel kernel;
    kernel.stats_on = true;
    kernel.entry_cost = {3'000'000, 1000}; // 3 µs a run
    kernel.return_cost = {1'000'000, 1000}; // 1 µs
    TraceConfig config;
    config.mode = TraceMode::All;
    config.duration_s = 0.05;
    config.hot_limit = 1000;
    CapturedProgress progress;
    CollectPlan plan;
    TracedFunction f;
    f.symbol = "hot";
    f.demangled = "hot";
    f.module = "/bin/app";
    f.entry_cost_us = 2.5;
    f.return_cost_us = 23.5;
    f.entry_trap_us = 1.5;
    f.return_trap_us = 20;
    plan.functions = {f};
    Collector collector(kernel, config, plan, progress);
    collector.seed();
    mt_func_stats s{};
    s.calls = 20000;
    s.entry_hits = 20000;
    s.return_hits = 20000;
    kernel.func_stats = {{{kPid, 0}, s}};

    const Stop stop = collector.run(signals);
    Collected out = collector.finish(stop, std::nullopt);
    // the hot check at the end: 20,000 calls in ~0.05 s, each 4.5 + 21 µs
    REQUIRE(progress.hots.size() == 1);
    CHECK(progress.hots[0].measured);
    CHECK(progress.hots[0].cost_per_call_us == Approx(25.5));
    CHECK(progress.hots[0].share == Approx(0.99)); // 400,000 calls/s x 25.5 µs: capped
    REQUIRE(out.run.functions.functions.size() == 1);
    const TracedFunction &measured = out.run.functions.functions[0];
    CHECK(measured.cost_measured);
    CHECK(measured.entry_cost_us == Approx(4.5));
    CHECK(measured.return_cost_us == Approx(21));

    kernel.stats_on = false; // statistics refused: the planner's estimates
    Collector estimated(kernel, config, plan, progress);
    estimated.seed();
    Collected est = estimated.finish(estimated.run(signals), std::nullopt);
    CHECK_FALSE(est.run.functions.functions[0].cost_measured);
    CHECK(est.run.functions.functions[0].entry_cost_us == Approx(2.5));
    CHECK(progress.hots.size() == 2);
    CHECK_FALSE(progress.hots[1].measured);
}
