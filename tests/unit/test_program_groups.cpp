// Processes grouped by program (--children, -a) and the programs of an exec chain.
#include <catch2/catch.hpp>
#include <cstring>

#include "collect/kernel_figures.h"
#include "model/process_table.h"
#include "model/program_groups.h"

using namespace memtrace;

namespace {

constexpr uint64_t MiB = 1024 * 1024;
const KernelUnits kUnits{4096, 1'000'000'000};

ProcessRecord run(uint32_t pid, const std::string &exe, uint64_t peak_mib, uint64_t touched_mib,
                  bool exited = true)
{
    ProcessRecord p;
    p.pid = pid;
    p.exe = exe;
    p.comm = exe.substr(exe.rfind('/') + 1);
    p.peak_rss = peak_mib * MiB;
    p.final_rss = peak_mib * MiB / 2;
    p.touched = touched_mib * MiB;
    p.mapped = 2 * touched_mib * MiB;
    p.page_faults = touched_mib * 256;
    p.exited = exited;
    return p;
}

mt_proc kernel_image(uint32_t tgid, const char *comm, uint64_t peak_pages, uint32_t flags)
{
    mt_proc p{};
    p.tgid = tgid;
    p.ppid = 1;
    std::strncpy(p.comm, comm, sizeof(p.comm));
    p.flags = flags;
    p.start_ns = 1'100'000'000;
    p.exit_ns = 1'400'000'000;
    p.peak_rss = peak_pages;
    p.touched = peak_pages;
    p.kernel_hwm = peak_pages - 2;
    return p;
}

} // namespace

TEST_CASE("group_by_program: one row per program, largest single peak, sums", "[groups]")
{
    ProcessRecord sh = run(10, "/bin/sh", 2, 1);
    ProcessRecord cc = run(11, "/usr/bin/cc1", 90, 100);
    cc.earlier_programs.push_back(run(11, "/bin/sh", 3, 1)); // a shell that exec'd cc1
    cc.earlier_programs.back().replaced = true;
    ProcessRecord cc2 = run(12, "/usr/bin/cc1", 120, 130, false); // still running
    ProcessRecord anon = run(13, "", 1, 1);
    anon.comm = "kworker";

    auto groups = group_by_program({sh, cc, cc2, anon});
    REQUIRE(groups.size() == 3);
    const ProgramGroup &c = groups[0];
    CHECK(c.program == "/usr/bin/cc1");
    CHECK(c.runs == 2);
    CHECK(c.running == 1);
    CHECK(c.max_peak_rss == 120 * MiB); // the largest of one process, not a sum
    CHECK(c.max_peak_pid == 12);
    CHECK(c.touched == 230 * MiB);
    CHECK(c.mapped == 460 * MiB);
    CHECK(c.page_faults == 230 * 256);
    CHECK(c.final_rss == 60 * MiB); // only the running one's
    const ProgramGroup &s = groups[1];
    CHECK(s.program == "/bin/sh");
    CHECK(s.runs == 2); // pid 10, and pid 11 before its exec
    CHECK(s.max_peak_rss == 3 * MiB);
    CHECK(s.max_peak_pid == 11);
    CHECK(s.running == 0);
    CHECK(groups[2].program == "[kworker]");

    auto runs = program_runs({sh, cc});
    REQUIRE(runs.size() == 3);
    CHECK(runs[1].replaced);
    CHECK(runs[2].exe == "/usr/bin/cc1");
    CHECK(runs[2].earlier_programs.empty());
    CHECK(highest_peak(cc) == 90 * MiB);

    RunningTotal total = running_total({sh, cc, cc2});
    CHECK(total.processes == 1);
    CHECK(total.rss == 60 * MiB);
}

TEST_CASE("group_functions: per program and function, calls summed, peaks the largest", "[groups]")
{
    std::vector<ProcessRecord> procs = {run(1, "/a", 10, 10), run(2, "/a", 20, 20), run(3, "/b", 5, 5)};
    auto fn = [](uint32_t pid, uint64_t calls, uint64_t inc, int64_t net) {
        FunctionRecord f;
        f.pid = pid;
        f.symbol = "build";
        f.module = "/a";
        f.calls = calls;
        f.max_peak_increment = inc;
        f.max_peak_rss = inc * 2;
        f.total_net = net;
        f.max_tid = pid + 100;
        return f;
    };
    auto groups = group_functions({fn(1, 3, 5 * MiB, 100), fn(2, 4, 7 * MiB, -50), fn(3, 1, 9 * MiB, 1)}, procs);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].program == "/b");
    CHECK(groups[0].processes == 1);
    const FunctionGroup &a = groups[1];
    CHECK(a.program == "/a");
    CHECK(a.processes == 2);
    CHECK(a.figures.calls == 7);
    CHECK(a.figures.max_peak_increment == 7 * MiB);
    CHECK(a.figures.max_peak_rss == 14 * MiB);
    CHECK(a.figures.total_net == 50);
    CHECK(a.figures.pid == 2); // the process of the largest call
    CHECK(a.figures.max_tid == 102);
}

TEST_CASE("ProcessTable: a program replaced by exec is kept as an earlier program", "[groups]")
{
    ProcessTable table;
    table.apply_exec({7, 1, "sh", "sh -c big", "/bin/sh"});
    table.apply_replaced(figures_of(kernel_image(7, "sh", 300, MT_PROC_EXECED | MT_PROC_REPLACED), kUnits));
    table.apply_exec({7, 1, "big", "big 1", "/usr/bin/big"});
    table.apply_exit(figures_of(kernel_image(7, "big", 50, MT_PROC_EXECED | MT_PROC_EXITED), kUnits));
    auto all = table.records();
    REQUIRE(all.size() == 1);
    const ProcessRecord &p = all[0];
    CHECK(p.exe == "/usr/bin/big");
    CHECK(p.cmdline == "big 1");
    CHECK(p.peak_rss == 50 * 4096);
    REQUIRE(p.earlier_programs.size() == 1);
    const ProcessRecord &e = p.earlier_programs[0];
    CHECK(e.replaced);
    CHECK(e.exe == "/bin/sh");
    CHECK(e.cmdline == "sh -c big");
    CHECK(e.comm == "sh");
    CHECK(e.peak_rss == 300 * 4096);
    CHECK(e.kernel_hwm == 298u * 4096);
    REQUIRE(e.end_s);
    CHECK(*e.end_s == Approx(0.4));
    CHECK(highest_peak(p) == 300 * 4096);
}
