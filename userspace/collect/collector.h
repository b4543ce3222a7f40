// The collect stage: from the moment the targets run until they end (or -d,
// or a signal), reads what the kernel side sends and keeps, feeds the model
// (processes, timeline, function marks) and the stack collection, attaches
// the probes the run asks for, and shows progress. Then gathers the last
// figures as plain data.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collect/exec_functions.h"
#include "collect/kernel_figures.h"
#include "collect/kernel_side.h"
#include "collect/python_functions.h"
#include "collect/records.h"
#include "collect/signal_inbox.h"
#include "collect/stack_collection.h"
#include "collect/stack_naming.h"
#include "model/collected_run.h"
#include "model/functions.h"
#include "model/metrics_snapshot.h"
#include "model/process_table.h"
#include "model/progress.h"
#include "model/timeline.h"
#include "model/trace_config.h"

namespace memtrace {

// What the session hands the collector.
struct CollectPlan {
    std::vector<pid_t> pids;              // -p targets
    std::optional<pid_t> command;         // the command (held until the session starts it)
    std::string executable;               // its program
    std::vector<pid_t> probe_pids;        // where probes attach; empty: every process
    std::vector<TracedFunction> functions; // -f, by id
    std::set<std::pair<std::string, uint64_t>> probed_returns; // (file, offset) probed up front
    ExecFunctions *exec_functions = nullptr; // -f patterns waiting for programs exec'd later
    std::optional<SourceReader> source_reader; // --lines: source shown only if readable by it
};

struct Collected {
    CollectedRun run;
    std::optional<StackEvidence> stacks; // --folded: to be named
};

class Collector {
public:
    Collector(KernelSide &kernel, const TraceConfig &config, CollectPlan plan, Progress &progress);
    Collector(const Collector &) = delete;
    Collector &operator=(const Collector &) = delete;
    ~Collector();

    // Before the command runs: processes already running (-p, -a), their
    // figures and mappings. Throws Error if a -p target is gone.
    void seed();
    // --timeline: the recording also goes there as it is made (from run() on).
    void stream_recording(RecordingStream &stream) { stream_ = &stream; }
    // --listen: served between reads, its figures taken as the live view's (-i).
    void serve_metrics(MetricsService &service) { metrics_ = &service; }
    // Until the targets end, -d passes, or a signal arrives.
    Stop run(SignalInbox &signals);
    // The last records and figures, once the session has ended the command.
    Collected finish(Stop stop, const std::optional<CommandEnd> &command);

private:
    struct Watched {
        pid_t pid = 0;
        int pidfd = -1; // -1 once it has ended
    };

    void drain();
    void handle(Record &record);
    void held_exec(uint32_t pid);
    void attach_return_probes();
    void fill_cmdlines();
    void refresh_live(const std::vector<mt_proc> &procs);
    void live_lines(uint64_t now);
    MetricsSnapshot metrics_snapshot();
    void check_hot(uint64_t now);
    // -f: what one hit of a native function's entry and return probes costs:
    // its trap plus the BPF programs' mean run time so far (measured), or the
    // planner's estimate when run-time statistics are off.
    struct HitCost {
        double entry_us = 0, return_us = 0;
        bool measured = false;
    };
    HitCost hit_cost(const TracedFunction &f) const;
    void announce() const;
    void begin_stream();
    void feed_stream();
    std::string function_name(uint32_t id);
    bool traces_functions() const { return !plan_.functions.empty() || python_functions_; }
    std::vector<TracedFunction> functions_by_id();
    void check_python_patterns();
    double since_start(uint64_t ns) const;
    bool targets_ended() const;
    void fill_stats_and_functions(CollectedRun &run, const std::vector<mt_proc> &final_procs);
    TraceStats current_stats() const;
    FunctionInputs function_inputs(const std::vector<mt_proc> &procs);
    SelfCost self_cost() const;
    void finish_recording(CollectedRun &run, const std::vector<mt_proc> &final_procs);
    std::map<uint32_t, uint64_t> stack_cuts(const std::vector<mt_proc> &final_procs);

    KernelSide &kernel_;
    const TraceConfig &config_;
    CollectPlan plan_;
    Progress &progress_;
    const uint64_t page_size_;
    const uint64_t start_ns_;
    KernelUnits units_;
    ProcessTable table_;
    std::optional<Recording> recording_;
    RecordingStream *stream_ = nullptr;
    MetricsService *metrics_ = nullptr;
    size_t points_streamed_ = 0, marks_streamed_ = 0;
    std::optional<StackCollection> stacks_; // also finds Python processes for -f py:
    std::optional<PythonFunctions> python_functions_;
    std::vector<Watched> watched_;
    std::vector<RetsiteRecord> wanted_returns_;
    uint64_t return_probes_failed_ = 0;
    uint64_t malformed_ = 0;
    std::map<uint32_t, uint64_t> previous_rss_; // -i: by pid
    std::map<uint32_t, uint64_t> peak_ns_;      // --stacks peak: each ended process's peak (ktime)
    // hot check: by (pid, function), the hits and the process's CPU time at the last check
    struct HotSeen {
        uint64_t entries = 0, returns = 0;
        std::optional<double> cpu_s;
    };
    std::map<std::pair<uint32_t, uint32_t>, HotSeen> hits_seen_;
    std::vector<bool> warned_hot_;
    uint64_t last_hot_check_ = 0;
};

// memtrace's own CPU time (user, system) and memory high-water mark so far
// into `cost` (the BPF programs' figures are left as they are).
void measure_own_usage(SelfCost &cost);

} // namespace memtrace
