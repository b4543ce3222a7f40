// The tables of a trace grouped by program (--children and -a without
// --per-process): one row per program, and the traced functions per program.
#pragma once

#include <ostream>
#include <vector>

#include "model/program_groups.h"
#include "model/run_report.h"

namespace memtrace {

void write_program_groups(std::ostream &out, const std::vector<ProgramGroup> &groups);
void write_program_legend(std::ostream &out);

// A line on what the processes still running hold at the end (-a).
void write_running_total(std::ostream &out, const RunningTotal &total);

// What the traced processes held at once, at most (when more than one was traced).
void write_total_peak(std::ostream &out, const RunReport &report);

// The command's own figures under a grouped table: its peak and the kernel's.
void write_command_line(std::ostream &out, const RunReport &report);

void write_function_groups(std::ostream &out, const std::vector<FunctionGroup> &groups);

} // namespace memtrace
