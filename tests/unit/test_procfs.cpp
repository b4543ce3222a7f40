#include <catch2/catch.hpp>

#include "collect/procfs.h"
#include "temp_dir.h"

using namespace memtrace;
using memtrace::testing::TempDir;

namespace {

// /proc/PID/stat: "pid (comm) state ppid pgrp session tty tpgid flags ..."
void add_process(const TempDir &dir, int pid, const std::string &comm, char state,
                 unsigned long flags, int tgid)
{
    std::string p = std::to_string(pid);
    dir.write(p + "/stat", p + " (" + comm + ") " + state + " 1 1 1 0 -1 " +
                               std::to_string(flags) + " 0 0 0 0 0 0 0 0 20 0 1 0\n");
    dir.write(p + "/status", "Name:\t" + comm + "\nTgid:\t" + std::to_string(tgid) +
                                 "\nVmPeak:\t  264488 kB\nVmHWM:\t  263336 kB\nVmRSS:\t    1592 kB\n");
}

} // namespace

TEST_CASE("ProcFs tells processes, threads, kernel threads and zombies apart")
{
    TempDir dir;
    add_process(dir, 100, "app", 'S', 0x400000, 100);
    add_process(dir, 101, "app worker", 'R', 0x40, 100); // a thread of 100
    add_process(dir, 2, "kthreadd", 'S', 0x00208040, 2);
    add_process(dir, 300, "gone) (x", 'Z', 0x400104, 300); // comm with ") ("
    ProcFs fs(dir.path().string());

    PidInfo app = fs.inspect(100);
    CHECK(app.kind == PidKind::Process);
    CHECK(app.comm == "app");
    PidInfo thread = fs.inspect(101);
    CHECK(thread.kind == PidKind::Thread);
    CHECK(thread.tgid == 100);
    CHECK(thread.comm == "app worker");
    CHECK(fs.inspect(2).kind == PidKind::KernelThread);
    PidInfo zombie = fs.inspect(300);
    CHECK(zombie.kind == PidKind::Zombie);
    CHECK(zombie.comm == "gone) (x");
    CHECK(fs.inspect(999).kind == PidKind::Missing);
}

TEST_CASE("ProcFs reads command lines and status fields")
{
    TempDir dir;
    using namespace std::string_literals;
    dir.write("7/cmdline", "python3\0-c\0print(1)\0"s);
    dir.write("8/cmdline", ""s); // kernel threads and zombies have none
    dir.write("7/status", "VmPeak:\t  264488 kB\nVmHWM:\t  263336 kB\n");
    ProcFs fs(dir.path().string());
    CHECK(fs.cmdline(7) == "python3 -c print(1)");
    CHECK_FALSE(fs.cmdline(8));
    CHECK_FALSE(fs.cmdline(9));
    CHECK(fs.status_kib(7, "VmHWM") == 263336u);
    CHECK(fs.status_kib(7, "VmPeak") == 264488u);
    CHECK_FALSE(fs.status_kib(7, "VmSwap"));
}
