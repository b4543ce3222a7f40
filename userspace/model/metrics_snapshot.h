// --listen: the figures one scrape of /metrics shows, taken from the collector's
// model at that moment (the path of the live view, -i), and the service the
// collect loop runs between its reads of the kernel side.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "model/functions.h"
#include "model/process.h"
#include "model/run_report.h"

namespace memtrace {

struct MetricsSnapshot {
    double elapsed_s = 0;                  // since tracing began
    std::vector<ProcessRecord> live;       // traced processes running now (never memtrace)
    uint64_t processes_seen = 0;           // traced so far, those that ended included
    uint64_t total_peak_bytes = 0;         // the most they held at one moment (sum of RSS)
    std::vector<FunctionRecord> functions; // -f: per (process, function), as the table has them
    TraceStats stats;                      // events seen, and everything lost or dropped
    SelfCost cost;                         // memtrace's CPU time, peak RSS, BPF run time
    uint64_t self_rss_bytes = 0;           // memtrace's RSS now
    double collect_s = 0;                  // what taking this snapshot took
};

// Served from the collect loop's one thread: its descriptors are polled with
// the loop's own, so serving never stops tracing and tracing never waits on a peer.
class MetricsService {
public:
    virtual ~MetricsService() = default;
    // Appends the descriptors to poll, with the events wanted.
    virtual void add_descriptors(std::vector<pollfd> &fds) const = 0;
    // The next moment (CLOCK_MONOTONIC, ns) it must be called even without I/O
    // (a peer too slow), if any.
    virtual std::optional<uint64_t> wake_ns() const = 0;
    // After poll: `ready` is what add_descriptors appended, revents filled.
    // `snapshot` is called only when a request wants the figures.
    virtual void serve(std::span<const pollfd> ready, const std::function<MetricsSnapshot()> &snapshot) = 0;
};

} // namespace memtrace
