// memtrace's command line: what to trace, for how long, and where results go.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/run_report.h"

namespace memtrace {

// --help or --version: print `text` to stdout and exit with 0.
struct EarlyExit {
    std::string text;
};

struct Options {
    TraceMode mode = TraceMode::Command;
    std::vector<std::string> command; // -- CMD ARGS
    std::vector<pid_t> pids;          // -p
    bool children = false;            // --children
    bool as_root = false;             // --as-root

    std::optional<double> duration_s; // -d
    std::optional<double> interval_s; // -i

    std::string table_path;           // -o; empty: stdout
    std::string json_path;            // --json; "-": stdout
    std::optional<unsigned> top;      // --top
    bool quiet = false;
    bool verbose = false;
    uint32_t max_procs = 16384;

    std::vector<std::string> functions;   // -f patterns, one per entry (comma lists split)
    std::string list_funcs;               // --list-funcs PATTERN: print matches and exit
    uint32_t max_probes = 1000;           // functions a pattern set may match
    uint64_t hot_limit = 10000;           // calls/s above which a function is reported hot
    std::vector<std::string> debug_dirs = {"/usr/lib/debug"};

    std::string folded_path;              // --folded FILE
    uint32_t stacks = 0;                  // MT_STACKS_*: what weighs a stack
    uint64_t sample_bytes = 512 * 1024;   // --sample-bytes
    bool kernel_stacks = false;
    bool per_pid = false;
    bool per_thread = false;
    uint32_t unwind = MT_UNWIND_AUTO;     // --unwind
    uint32_t stack_bytes = MT_STACK_COPY_DEFAULT; // --stack-bytes: stack copied per DWARF sample

    std::string timeline_path;            // --timeline FILE (memtrace record -o FILE)
    double resolution_ms = 10;            // --resolution
    bool mprof_format = false;            // --format mprof: also FILE.dat
};

// `memtrace record [-o FILE] [options] -- CMD`: the tracing arguments it
// stands for (--timeline FILE, FILE defaulting to memtrace-YYYYMMDD-HHMMSS.mtrace).
std::vector<std::string> record_arguments(const std::vector<std::string> &args,
                                          const std::string &default_file);
// The .dat file mprof reads, beside a recording: "run.mtrace" -> "run.dat".
std::string mprof_path(const std::string &recording_path);

// memtrace plot FILE... [-o OUT] [--title T] [--no-functions] [--png]
struct PlotArgs {
    std::vector<std::string> files;
    std::string output;
    std::string title;
    bool functions = true;
    bool png = false;
};
std::variant<PlotArgs, EarlyExit> parse_plot_options(const std::vector<std::string> &args);

// memtrace report FILE [--json FILE]
struct ReportArgs {
    std::string file;
    std::string json_path;
};
std::variant<ReportArgs, EarlyExit> parse_report_options(const std::vector<std::string> &args);

// "4096", "64K", "64KiB", "1M", "1MiB": bytes. Throws Error on anything else.
uint64_t parse_size(const std::string &text, const std::string &option);

// Throws Error (exit code 2) with a one-line message on bad input.
std::variant<Options, EarlyExit> parse_options(const std::vector<std::string> &args);

std::string version_string();

} // namespace memtrace
