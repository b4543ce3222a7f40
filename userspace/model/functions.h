// Traced functions: per process and function, the figures of design.md
// section 5, in bytes and seconds. Built from the kernel's aggregates.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <optional>

namespace memtrace {

// What the model needs to know of a traced function.
struct TracedFunction {
    std::string symbol;
    std::string demangled;
    std::string module;
    double entry_cost_us = 0;  // estimated cost of one entry probe hit
    double return_cost_us = 0; // of one return-site probe hit
    // Of those, the trap (the breakpoint and the kernel's handling of the
    // probed instruction), measured at start or taken from design.md; the
    // rest, the BPF program's run time, is measured while tracing.
    double entry_trap_us = 0, return_trap_us = 0;
    bool cost_measured = false; // entry/return_cost_us: trap + measured BPF time
    // where its code is (--lines): the file probed, and its address range there
    std::string file;
    uint64_t address = 0, size = 0; // in the file's ELF layout
    bool python = false;       // -f py: a Python function (symbol: "qualname (file.py:LINE)",
                               // module: the file); its calls are those seen at an RSS change
    bool from_exec = false;    // found in a program a traced process exec'd: rows where it ran
};

struct FunctionRecord {
    uint32_t pid = 0;
    uint32_t id = 0;
    std::string symbol;
    std::string demangled;
    std::string module;
    bool python = false;     // a Python function: calls are the calls seen at an RSS change

    uint64_t calls = 0;      // outermost calls entered
    uint64_t returned = 0;
    uint64_t unreturned = 0; // exception, longjmp, thread exit, exec
    uint64_t active = 0;     // still open when tracing ended
    uint64_t folded = 0;     // recursive calls folded into an outer one
    uint64_t dropped = 0;    // not tracked: too many open on one thread

    uint64_t max_peak_increment = 0; // peak - base, the largest of any call
    uint64_t max_peak_rss = 0;
    int64_t total_net = 0;           // sum of RSS at return - base, returned calls

    // the call that set max_peak_increment
    uint32_t max_tid = 0;
    uint64_t max_base = 0;
    double max_start_s = 0;
    double max_end_s = 0;

    uint64_t entry_hits = 0;
    uint64_t return_hits = 0;
    double entry_hit_us = 0, return_hit_us = 0; // what one hit of each costs
    bool cost_measured = false;  // those: measured (trap at start, BPF run time), else estimated
    double estimated_cost_s = 0; // probe overhead paid by the traced program:
                                 // entry_hits x entry_hit_us + return_hits x return_hit_us

    uint64_t probe_hits() const { return entry_hits + return_hits; }
};

// The kernel's aggregates of one (process, function), in bytes and seconds.
struct FunctionTotals {
    uint32_t pid = 0;
    uint32_t func = 0; // function id
    uint64_t calls = 0, returned = 0, unreturned = 0, folded = 0, dropped = 0;
    uint64_t entry_hits = 0, return_hits = 0;
    uint64_t max_peak_increment = 0;
    uint64_t max_peak_rss = 0;
    int64_t total_net = 0;
    uint32_t max_tid = 0;
    uint64_t max_base = 0;
    double max_start_s = 0, max_end_s = 0; // 0, 0: no call has ended
    uint64_t marks_dropped = 0;            // calls not marked on the timeline
};

// A call still open when tracing ended, with its peak so far.
struct OpenCall {
    uint32_t pid = 0, tid = 0, func = 0;
    uint64_t base = 0; // RSS at entry, bytes
    uint64_t peak = 0; // highest RSS since, bytes
    double start_s = 0;
};

struct FunctionInputs {
    std::vector<TracedFunction> functions; // indexed by function id
    std::vector<FunctionTotals> totals;
    std::vector<OpenCall> open_calls;
    double end_s = 0; // when tracing ended: open calls last until then
    // Processes that get a row for every function, called or not (the one
    // target of -- CMD or -p): "0 calls" answers a question too.
    std::vector<uint32_t> every_function_for;
};

// One record per (process, function) seen, sorted by max peak increment.
std::vector<FunctionRecord> build_function_records(const FunctionInputs &in);

} // namespace memtrace
