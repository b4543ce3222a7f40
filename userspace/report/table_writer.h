// The end-of-run report for people: a sentence on what was traced, aligned
// tables of the figures, and a legend saying what each column means.
#pragma once

#include <ostream>

#include "model/run_report.h"

namespace memtrace {

void write_table(std::ostream &out, const RunReport &report);

// "exited with status 0", "was killed by SIGKILL", "is still running"
std::string describe_end(const ProcessRecord &proc);

} // namespace memtrace
