// The kernel side's figures (include/memtrace/abi.h: pages, ktime) as model
// types (bytes, seconds since the trace began): the one place they convert.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "memtrace/abi.h"
#include "model/functions.h"
#include "model/process.h"
#include "model/run_report.h"

namespace memtrace {

// How kernel units become model units for one trace.
struct KernelUnits {
    uint64_t page_size = 4096;
    uint64_t trace_start_ns = 0; // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns()

    double seconds(uint64_t ktime_ns) const
    {
        return (static_cast<double>(ktime_ns) - static_cast<double>(trace_start_ns)) / 1e9;
    }
};

// file + anon + shmem pages: the RSS of the kernel's figures.
uint64_t rss_pages(const mt_proc &proc);

// A process record holding the kernel's figures (no command line).
ProcessRecord figures_of(const mt_proc &proc, const KernelUnits &units);
std::vector<ProcessRecord> figures_of(const std::vector<mt_proc> &procs, const KernelUnits &units);

TraceStats stats_from(const mt_stats &kernel, uint64_t malformed_records);

// Per process and function: the in-kernel aggregates.
std::vector<FunctionTotals> function_totals(
    const std::vector<std::pair<mt_func_key, mt_func_stats>> &stats, const KernelUnits &units);

// Calls still open when tracing ended, with their peak so far: the higher of
// the process's current RSS and the call's running peak in its slot.
std::vector<OpenCall> open_calls(const std::vector<std::pair<uint32_t, mt_thread_frames>> &frames,
                                 const std::vector<std::pair<uint32_t, mt_call_slots>> &slots,
                                 const std::vector<mt_proc> &procs, const KernelUnits &units);

} // namespace memtrace
