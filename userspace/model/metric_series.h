// --listen: the series of /metrics, from one snapshot. Processes are bounded
// (top N by current RSS, then one "other" summing the rest), and traced
// functions are one series per (function, module): no label set repeats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/functions.h"
#include "model/metrics_snapshot.h"
#include "model/process.h"

namespace memtrace {

struct ProcessSeries {
    std::string pid;  // "other": the processes not listed, summed
    std::string comm; // "" for other
    uint64_t rss = 0; // current
    uint64_t peak_rss = 0;
    uint64_t anon = 0, file = 0, shmem = 0; // current
    uint64_t page_faults = 0;
    uint64_t mapped = 0, unmapped = 0;
};

// The `top` largest by current RSS (ties: lower pid first), then "other"
// (always there, zeros when nothing is left: a series that comes and goes
// would break rates and sums).
std::vector<ProcessSeries> process_series(const std::vector<ProcessRecord> &live, size_t top);

struct FunctionSeries {
    std::string function; // demangled name, or the symbol
    std::string module;
    uint64_t calls = 0;              // summed over processes
    uint64_t max_peak_increment = 0; // the largest of one call
    uint64_t max_peak_rss = 0;
    int64_t total_net = 0;           // summed over processes (returned calls)
    uint64_t active = 0;             // calls open now
};

// Per (function, module), in the order the records come (largest peak increment first).
std::vector<FunctionSeries> function_series(const std::vector<FunctionRecord> &records);

struct MetricSeries {
    std::vector<ProcessSeries> processes;
    std::vector<FunctionSeries> functions;
};
MetricSeries metric_series(const MetricsSnapshot &snapshot, size_t top);

} // namespace memtrace
