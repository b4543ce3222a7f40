// memtrace's command line: what to trace, for how long, and where results go.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/trace_config.h"
#include "serve/listen_address.h"

namespace memtrace {

// --help or --version: print `text` to stdout and exit with 0.
struct EarlyExit {
    std::string text;
};

// The command line: what to trace (a TraceConfig) and where results go.
struct Options {
    TraceConfig trace;

    std::string table_path;   // -o; empty: stdout
    std::string json_path;    // --json; "-": stdout
    std::string folded_path;  // --folded FILE
    std::string pprof_path;   // --pprof FILE: the same stacks, gzipped pprof
    std::string timeline_path; // --timeline FILE (memtrace record -o FILE)
    bool mprof_format = false; // --format mprof: also FILE.dat
    std::string list_funcs;   // --list-funcs PATTERN: print matches and exit
    std::optional<ListenAddress> listen; // --listen ADDR: serve /metrics while tracing
    size_t listen_top = 20;              // --listen-top N: processes with their own series
    std::optional<std::string> debug_cache; // --debug-cache DIR ("" for none); unset: the default
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
