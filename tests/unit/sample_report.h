// A small, fixed RunReport for the writers' golden tests.
#pragma once

#include "model/run_report.h"

namespace memtrace::testing {

inline ProcessRecord sample_process(uint32_t pid, const char *comm, uint64_t peak_mib)
{
    constexpr uint64_t MiB = 1024 * 1024;
    ProcessRecord p;
    p.pid = pid;
    p.ppid = 1;
    p.comm = comm;
    p.cmdline = std::string(comm) + " --size " + std::to_string(peak_mib);
    p.start_rss = 8 * 1024;
    p.peak_rss = peak_mib * MiB;
    p.peak_anon = (peak_mib - 1) * MiB;
    p.peak_file = MiB;
    p.final_rss = 3 * MiB / 2;
    p.final_vm = 4 * MiB;
    p.peak_vm = (peak_mib + 2) * MiB;
    p.page_faults = peak_mib * 256 + 12;
    p.touched = peak_mib * MiB + 64 * 1024;
    p.mapped = (peak_mib + 1) * MiB;
    p.unmapped = peak_mib * MiB;
    p.start_s = 0.001;
    p.peak_s = 0.25;
    p.end_s = 0.5;
    p.execed = true;
    p.exited = true;
    p.wait_status = 0;
    return p;
}

inline RunReport sample_command_report()
{
    RunReport r;
    r.mode = TraceMode::Command;
    r.command = {"./app", "--size", "256"};
    r.command_pid = 4242;
    r.duration_s = 0.5;
    ProcessRecord app = sample_process(4242, "app", 256);
    app.kernel_maxrss = 256 * 1024 * 1024 - 100 * 1024;
    ProcessRecord child = sample_process(4243, "worker", 64);
    child.ppid = 4242;
    child.forked = true;
    child.execed = false;
    child.start_s = 0.1;
    child.wait_status = 9; // killed by SIGKILL
    r.processes = {child, app};
    r.stats.rss_events = 70000;
    r.stats.fault_events = 65000;
    return r;
}

inline RunReport sample_function_report()
{
    RunReport r = sample_command_report();
    r.processes.pop_back(); // the command only
    r.processes[0] = sample_process(4242, "app", 256);
    FunctionRecord spike;
    spike.pid = 4242;
    spike.symbol = "transient_spike";
    spike.demangled = "transient_spike";
    spike.module = "/opt/app/bin/app";
    spike.calls = 3;
    spike.returned = 3;
    spike.max_peak_increment = 256ull << 20;
    spike.max_peak_rss = (256ull << 20) + (2ull << 20);
    spike.total_net = 128 * 1024;
    spike.entry_hits = 3;
    spike.return_hits = 3;
    spike.entry_hit_us = 6; // a push, emulated
    spike.return_hit_us = 21;
    spike.estimated_cost_s = 3 * 27e-6;
    FunctionRecord build = spike;
    build.symbol = "_ZN5Index5buildEm";
    build.demangled = "Index::build(unsigned long)";
    build.calls = 1;
    build.returned = 0;
    build.unreturned = 1;
    build.active = 1;
    build.max_peak_increment = 64ull << 20;
    build.total_net = 0;
    r.functions = {spike, build};
    r.probes_attached = 5;
    return r;
}

} // namespace memtrace::testing
