// Everything one run produced, as plain data for the writers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/folded.h"
#include "model/functions.h"
#include "model/program_groups.h"
#include "model/process.h"
#include "model/trace_config.h"

namespace memtrace {

struct TraceStats {
    uint64_t ringbuf_drops = 0;   // exec/exit records lost (ring buffer full)
    uint64_t procs_not_traced = 0; // processes missed: map full
    uint64_t mm_not_owned = 0;     // address spaces not attributed: map full
    uint64_t percpu_misses = 0;    // per-CPU counter reads that failed
    uint64_t malformed_records = 0;
    uint64_t ended_not_kept = 0;   // -a: small processes that ended, not listed
    uint64_t frames_overflow = 0;  // calls not tracked: too deep on a thread
    uint64_t slots_full = 0;       // calls whose peak is approximate: too many open at once
    uint64_t func_stats_full = 0;  // function figures lost: map full
    uint64_t threads_full = 0;     // calls not tracked: thread map full
    uint64_t retsites_wanted = 0;   // return addresses of tail-calling calls reported
    uint64_t retsites_attached = 0; // ... probed
    uint64_t retsites_failed = 0;
    uint64_t stack_samples = 0;
    uint64_t user_stacks_lost = 0;
    uint64_t kernel_stacks_lost = 0;
    uint64_t stack_bytes_full = 0;
    uint64_t stack_copies = 0;      // stacks sent for DWARF unwinding
    uint64_t stack_copy_drops = 0;  // ... lost: stack ring buffer full
    uint64_t python_stacks = 0;     // samples with Python frames
    uint64_t python_codes_full = 0; // Python functions not named: map full
    uint64_t samples_dropped = 0;   // --stacks peak|end: touch samples lost (ring full)
    uint64_t ranges_dropped = 0;    // --stacks peak|end: pages leaving RSS not seen
    uint64_t rss_events = 0;
    uint64_t fault_events = 0;
    uint64_t vm_events = 0;
    uint64_t execs = 0;
    uint64_t forks = 0;
    uint64_t exits = 0;
    // The kernel side's limits (collect/kernel_figures.cpp checks them).
    static constexpr uint32_t kOpenCallsPerThread = 16;
    static constexpr uint32_t kOpenCallsPerProcess = 32;
    // -a: ended processes listed at most (~3 KiB each, command lines and exec
    // chains included; the programs table still counts every one)
    static constexpr uint32_t kEndedKept = 1000;

    uint64_t lost_events() const
    {
        return ringbuf_drops + procs_not_traced + mm_not_owned + percpu_misses + malformed_records +
               frames_overflow + func_stats_full + threads_full;
    }
};

// What tracing cost: memtrace's own process, and the kernel time spent in its
// BPF programs (charged to the traced processes; known only with
// kernel.bpf_stats_enabled=1).
struct SelfCost {
    double cpu_user_s = 0;
    double cpu_system_s = 0;
    uint64_t maxrss_bytes = 0;
    bool bpf_stats_enabled = false;
    uint64_t bpf_run_time_ns = 0;
    uint64_t bpf_run_count = 0;
};

// --folded: what was sampled, and how the folded total compares with the exact one.
struct StacksSummary {
    std::string kind;            // "touch", "map", "peak" or "end"
    uint64_t sample_bytes = 0;
    uint64_t samples = 0;        // stacks taken
    uint64_t folded_total = 0;   // bytes in the folded file
    uint64_t exact_total = 0;    // touched (or mapped) bytes of the traced processes
    uint64_t user_stacks_lost = 0;
    uint64_t kernel_stacks_lost = 0;
    uint64_t samples_lost = 0;   // not counted: map full
    std::vector<std::string> without_frame_pointers; // files whose stacks stop short (fp)
    std::string path;            // the folded file ("stdout"; "" with --pprof alone)
    std::string pprof_path;      // --pprof FILE
    std::string unwind;          // "fp", "dwarf" or "auto"
    uint64_t stack_bytes = 0;    // copied per DWARF sample
    uint64_t by_frame_pointers = 0; // samples walked by frame pointers (in the kernel)
    uint64_t by_dwarf = 0;          // samples unwound with DWARF CFI
    uint64_t copies_lost = 0;       // DWARF samples lost (ring buffer full): not counted
    std::map<std::string, uint64_t> cut_short; // DWARF unwinds cut short, by reason
    bool copies_too_short = false;  // some were cut short for want of copied stack
    uint64_t python_samples = 0;    // samples that carried Python frames
    uint64_t python_codes_lost = 0; // Python functions not named: map full
    // --stacks peak|end
    uint64_t untracked = 0;         // resident bytes of samples whose growth had no user fault
    uint64_t samples_dropped = 0;   // samples lost (ring buffer full): not in the folded file
    uint64_t ranges_dropped = 0;    // pages leaving RSS not seen: the folded file may hold them
};

// The traced processes' RSS summed, at its highest: what they held at one
// moment (the kernel side keeps the sum at every change). Pages shared between
// processes count in each, as in the sum of their RSS.
struct TotalPeak {
    uint64_t bytes = 0;
    double at_s = 0; // since tracing began
};

struct RunReport {
    TraceMode mode = TraceMode::Command;
    std::vector<std::string> command;   // -- CMD ARGS
    uint32_t command_pid = 0;
    std::vector<uint32_t> pids;         // -p
    double duration_s = 0;
    std::string end_reason;             // "the command exited", "interrupted (SIGINT)", ...
    std::vector<ProcessRecord> processes;
    std::vector<ProgramGroup> unlisted_programs; // -a: the programs of ended processes not listed
    std::vector<FunctionRecord> functions; // -f, sorted by max peak increment
    std::optional<StacksSummary> stacks;   // --folded
    FoldedStacks folded;
    std::vector<FunctionLines> lines;      // --lines: per traced function
    uint64_t lines_sample_bytes = 0;       // --lines: bytes per stack sample
    size_t probes_attached = 0;
    TraceStats stats;
    TotalPeak total_peak;
    SelfCost cost;
    std::optional<unsigned> top;        // rows per table (-a, --top)
    bool children = false;              // --children
    bool per_process = false;           // --per-process: no grouping by program
    // --children and -a: the tables have a row per program, not per process
    bool by_program() const { return !per_process && (children || mode == TraceMode::All); }
};

} // namespace memtrace
