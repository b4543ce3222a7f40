#include <catch2/catch.hpp>
#include <cstring>

#include "collect/kernel_figures.h"
#include "model/process_table.h"

using namespace memtrace;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kStart = 1'000'000'000; // trace start, ns
const KernelUnits kUnits{kPage, kStart};

mt_proc proc(uint32_t tgid, uint64_t peak_pages, uint32_t flags = 0)
{
    mt_proc p{};
    p.tgid = tgid;
    p.ppid = 1;
    std::strncpy(p.comm, "work", sizeof(p.comm));
    p.flags = flags;
    p.start_ns = kStart + 500'000'000;
    p.peak_ns = kStart + 1'500'000'000;
    p.pages[MT_RSS_FILE] = 100;
    p.pages[MT_RSS_ANON] = 200;
    p.pages[MT_RSS_SHMEM] = 3;
    p.pages[MT_RSS_SWAP] = 7;
    p.start_rss = 2;
    p.peak_rss = peak_pages;
    p.peak_split[MT_RSS_ANON] = peak_pages - 10;
    p.peak_split[MT_RSS_FILE] = 10;
    p.vm = 1000;
    p.peak_vm = 2000;
    p.faults = 42;
    p.touched = 300;
    p.mapped = 1500;
    p.unmapped = 500;
    return p;
}

} // namespace

TEST_CASE("kernel figures become bytes and seconds since the trace began")
{
    ProcessRecord r;
    r = figures_of(proc(7, 1000), kUnits);
    CHECK(r.pid == 7);
    CHECK(r.comm == "work");
    CHECK(r.peak_rss == 1000 * kPage);
    CHECK(r.peak_anon == 990 * kPage);
    CHECK(r.peak_file == 10 * kPage);
    CHECK(r.peak_shmem == 0);
    CHECK(r.final_rss == 303 * kPage); // file + anon + shmem, not swap
    CHECK(r.final_swap == 7 * kPage);
    CHECK(r.start_rss == 2 * kPage);
    CHECK(r.final_vm == 1000 * kPage);
    CHECK(r.peak_vm == 2000 * kPage);
    CHECK(r.page_faults == 42);
    CHECK(r.touched == 300 * kPage);
    CHECK(r.mapped == 1500 * kPage);
    CHECK(r.unmapped == 500 * kPage);
    CHECK(r.start_s == Approx(0.5));
    CHECK(r.peak_s == Approx(1.5));
    CHECK(r.growth() == 998 * kPage);
    CHECK_FALSE(r.exited);
    CHECK_FALSE(r.exit_code());
}

TEST_CASE("exit statuses decode like a shell's $?")
{
    ProcessRecord r;
    r.wait_status = 3 << 8;
    CHECK(r.exit_code() == 3);
    CHECK_FALSE(r.exit_signal());
    r.wait_status = 9;
    CHECK(r.exit_code() == 137);
    CHECK(r.exit_signal() == 9);
    r.wait_status = 0x80 | 11; // core dumped
    CHECK(r.exit_signal() == 11);
    CHECK(signal_name(9) == "SIGKILL");
    CHECK(signal_name(15) == "SIGTERM");
}

TEST_CASE("an exec names the process; its exit ends it")
{
    ProcessTable t;
    t.apply_exec({7, 1, "memwork", "memwork keep 100", ""});
    REQUIRE(t.find(7));
    CHECK(t.find(7)->execed);
    CHECK(t.live().size() == 1);

    mt_proc final = proc(7, 5000, MT_PROC_EXECED | MT_PROC_EXITED);
    final.exit_code = 0;
    final.exit_ns = kStart + 2'000'000'000;
    t.apply_exit(figures_of(final, kUnits));
    CHECK(t.live().empty());
    auto all = t.records();
    REQUIRE(all.size() == 1);
    CHECK(all[0].cmdline == "memwork keep 100");
    CHECK(all[0].exited);
    CHECK(all[0].exit_code() == 0);
    CHECK(all[0].end_s == Approx(2.0));
    CHECK(all[0].peak_rss == 5000 * kPage);
}

TEST_CASE("a forked child without exec runs its parent's command line")
{
    ProcessTable t;
    t.apply_exec({10, 1, "server", "server --workers 2", ""});
    mt_proc child = proc(11, 50, MT_PROC_FORKED);
    child.ppid = 10;
    t.apply_snapshot({figures_of(child, kUnits)});
    REQUIRE(t.find(11));
    CHECK(t.find(11)->cmdline == "server --workers 2");

    // once it execs, it is its own program
    t.apply_exec({11, 10, "ls", "ls -l", ""});
    CHECK(t.find(11)->cmdline == "ls -l");
}

TEST_CASE("a snapshot marked exited (its exit record was lost) still ends the process")
{
    ProcessTable t;
    mt_proc p = proc(12, 10, MT_PROC_ATTACHED | MT_PROC_EXITED);
    p.exit_code = 1 << 8;
    t.apply_snapshot({figures_of(p, kUnits)});
    CHECK(t.live().empty());
    REQUIRE(t.records().size() == 1);
    CHECK(t.records()[0].exit_code() == 1);
    CHECK(t.records()[0].attached);
}

TEST_CASE("the command's wait status and ru_maxrss come from wait4")
{
    ProcessTable t;
    mt_proc p = proc(20, 10, MT_PROC_EXECED | MT_PROC_EXITED);
    p.exit_code = 0;
    t.apply_exit(figures_of(p, kUnits));
    t.set_wait_result(20, 9, 4096 * 1024);
    auto all = t.records();
    REQUIRE(all.size() == 1);
    CHECK(all[0].exit_signal() == 9);
    CHECK(all[0].kernel_maxrss == 4096u * 1024);

    // still live when reaped (exit record not read yet): ended by the wait result
    ProcessTable u;
    u.apply_snapshot({figures_of(proc(21, 10, MT_PROC_EXECED), kUnits)});
    u.set_wait_result(21, 0, 1024);
    CHECK(u.live().empty());
    CHECK(u.records().at(0).exit_code() == 0);
}

TEST_CASE("a pid that ends and is reused is two processes")
{
    ProcessTable t;
    mt_proc first = proc(30, 10, MT_PROC_FORKED | MT_PROC_EXITED);
    t.apply_exit(figures_of(first, kUnits));
    t.apply_exec({30, 1, "again", "again", ""});
    t.apply_snapshot({figures_of(proc(30, 20, MT_PROC_EXECED), kUnits)});
    auto all = t.records();
    REQUIRE(all.size() == 2);
    CHECK(all[0].peak_rss == 10 * kPage);
    CHECK(all[1].peak_rss == 20 * kPage);
    CHECK(t.find(30)->peak_rss == 20 * kPage); // the live one first
}

TEST_CASE("live processes without a command line are listed for /proc lookup")
{
    ProcessTable t;
    t.apply_snapshot(figures_of(std::vector<mt_proc>{proc(40, 1, MT_PROC_ATTACHED), proc(41, 1, MT_PROC_ATTACHED)}, kUnits));
    t.set_cmdline(40, "daemon -f");
    CHECK(t.live_pids_without_cmdline() == std::vector<uint32_t>{41});
}

TEST_CASE("with a limit, the ended processes kept are the largest and the fastest-growing")
{
    ProcessTable t;
    t.limit_ended(4);
    for (uint32_t pid = 1; pid <= 6; ++pid) {
        mt_proc p = proc(pid, 100 * pid, MT_PROC_EXITED); // peaks 100..600 pages
        p.start_rss = pid == 1 ? 0 : 100 * pid - 2 * pid; // growth: 100 pages for pid 1, else 2*pid
        t.apply_exit(figures_of(p, kUnits));
    }
    CHECK(t.records().size() == 6); // pruning waits for limit * 1.5 exits
    mt_proc last = proc(7, 700, MT_PROC_EXITED);
    last.start_rss = 700 - 14;
    t.apply_exit(figures_of(last, kUnits));
    // pruned to the top 2 by peak (7, 6) and the top 2 by growth (1: 100 pages, 7: 14)
    std::vector<uint32_t> kept;
    for (const auto &r : t.records())
        kept.push_back(r.pid);
    CHECK(kept == std::vector<uint32_t>{1, 6, 7});
    CHECK(t.ended_not_kept() == 4);
}

TEST_CASE("at the end, the ended processes listed are brought down to the limit")
{
    ProcessTable t;
    t.limit_ended(4);
    for (uint32_t pid = 1; pid <= 5; ++pid) // under limit * 1.5: not pruned while tracing
        t.apply_exit(figures_of(proc(pid, 100 * pid, MT_PROC_EXITED), kUnits));
    REQUIRE(t.records().size() == 5);
    t.trim_ended();
    CHECK(t.records().size() <= 4);
    CHECK(t.records().size() + t.ended_not_kept() == 5);
    CHECK(group_by_program(t.records(), t.unlisted_programs()).at(0).runs == 5);
    t.trim_ended(); // at the limit already: nothing more goes
    CHECK(t.records().size() + t.ended_not_kept() == 5);
}

TEST_CASE("ended processes not kept still count in their programs' figures")
{
    ProcessTable t;
    t.limit_ended(2);
    uint64_t faults = 0;
    for (uint32_t pid = 1; pid <= 9; ++pid) {
        mt_proc p = proc(pid, 10 * pid, MT_PROC_EXITED);
        p.faults = pid;
        faults += pid;
        std::strncpy(p.comm, pid % 3 == 0 ? "cc1" : "sh", sizeof(p.comm));
        t.apply_exec({pid, 1, p.comm, "", pid % 3 == 0 ? "/usr/bin/cc1" : "/bin/sh"});
        t.apply_exit(figures_of(p, kUnits));
    }
    REQUIRE(t.ended_not_kept() > 0);
    CHECK(t.records().size() + t.ended_not_kept() == 9);
    const std::vector<ProgramGroup> all = group_by_program(t.records(), t.unlisted_programs());
    REQUIRE(all.size() == 2);
    // the largest peak first: pid 9 ran cc1 (90 pages)
    CHECK(all[0].program == "/usr/bin/cc1");
    CHECK(all[0].runs == 3);
    CHECK(all[0].max_peak_pid == 9);
    CHECK(all[1].program == "/bin/sh");
    CHECK(all[1].runs == 6);
    CHECK(all[1].max_peak_pid == 8);
    CHECK(all[0].page_faults + all[1].page_faults == faults);
    // without the unlisted ones, runs would be lost
    size_t listed = 0;
    for (const ProgramGroup &g : group_by_program(t.records()))
        listed += g.runs;
    CHECK(listed < 9);
}
