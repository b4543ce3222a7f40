// What one trace is asked to do: targets, functions, stacks, timeline, pace.
// Plain data: the CLI fills it, the session, the collector and the model read it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memtrace {

enum class TraceMode { Command, Pids, All };

// What weighs a sampled stack (--folded, --stacks).
enum class StackWeight {
    None,  // no stacks
    Touch, // pages brought into RSS
    Map,   // virtual memory mapped (mmap, brk, mremap)
    Peak,  // touch samples still resident at each process's peak RSS
    End,   // touch samples still resident at each process's end (exit or end of trace)
};

// How user stacks are walked (--unwind).
enum class UnwindMode {
    FramePointers, // in the kernel, by frame pointers
    Dwarf,         // a copy of the stack, unwound in userspace with CFI
    Auto,          // frame pointers where the sampled code has them, DWARF elsewhere
};

const char *unwind_name(UnwindMode mode);    // "fp", "dwarf", "auto"
const char *weight_name(StackWeight weight); // "none", "touch", "map", "peak", "end"

inline constexpr uint32_t kDefaultStackCopy = 65536; // --stack-bytes: copies stop at the stack's top
inline constexpr uint32_t kMaxStackCopy = 65536;

struct TraceConfig {
    // targets
    TraceMode mode = TraceMode::Command;
    std::vector<std::string> command; // -- CMD ARGS
    std::vector<pid_t> pids;          // -p
    bool children = false;            // --children
    bool as_root = false;             // --as-root
    uint32_t max_procs = 16384;       // processes traced at once (map sizes)

    // pace and progress
    std::optional<double> duration_s; // -d
    std::optional<double> interval_s; // -i: a live line per process
    std::optional<unsigned> top;      // --top: rows per table and live lines
    bool quiet = false;
    bool verbose = false;
    bool per_process = false;         // --per-process: a table row per process, not per program

    // traced functions (-f)
    std::vector<std::string> functions;   // patterns, one per entry
    std::vector<std::string> python_functions; // -f py:NAME: the NAMEs (globs of qualnames)
    uint32_t max_probes = 1000;           // functions a pattern set may match
    uint64_t hot_limit = 10000;           // calls/s above which a function is reported hot
    std::vector<std::string> debug_dirs = {"/usr/lib/debug"};

    // stacks (--folded)
    StackWeight stacks = StackWeight::None;
    uint64_t sample_bytes = 512 * 1024;   // --sample-bytes
    bool kernel_stacks = false;
    bool per_pid = false;
    bool per_thread = false;
    UnwindMode unwind = UnwindMode::Auto;
    uint32_t stack_bytes = kDefaultStackCopy; // stack copied per DWARF sample
    bool python_frames = true;            // read CPython's frames (--no-python-frames: off)

    // --lines: each traced function's lines, from stack samples (stacks on, Touch)
    bool lines = false;
    bool fold_stacks = false; // --folded: the samples are folded too (else for --lines only)
    static constexpr uint64_t kLinesSampleBytes = 64 * 1024; // --sample-bytes default with --lines

    // timeline (--timeline, memtrace record)
    bool timeline = false;
    double resolution_ms = 10;            // --resolution

    // --lines on Python functions alone, without --folded: the samples' Python
    // frames are all it needs, no native stack is copied or unwound.
    bool python_frames_only() const { return lines && !fold_stacks && functions.empty(); }
    bool stack_copies() const { return stacks != StackWeight::None && unwind != UnwindMode::FramePointers; }
    // --stacks peak|end: samples replayed against the pages that left RSS
    bool resident_stacks() const { return stacks == StackWeight::Peak || stacks == StackWeight::End; }
};

} // namespace memtrace
