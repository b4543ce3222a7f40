// memtrace's subcommands besides tracing itself (main.cpp): each takes the
// arguments after its name and returns the exit code. Throw Error for bad input.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/options.h"

namespace memtrace {

// memtrace plot FILE...: recordings to an SVG (or PNG through rsvg-convert).
int plot_command(const std::vector<std::string> &args);

// memtrace report FILE: a recording's end-of-run tables, again.
int report_command(const std::vector<std::string> &args);

// --list-funcs: what -f PATTERN would trace in the target of `options`.
int list_functions(const Options &options, std::ostream &out);

// Where debug files are kept uncompressed (--debug-cache): for the whole run,
// before any debug file is read.
void use_debug_cache(const Options &options);

// memtrace record's default file: memtrace-YYYYMMDD-HHMMSS-PID.mtrace.
std::string default_recording_name();

} // namespace memtrace
