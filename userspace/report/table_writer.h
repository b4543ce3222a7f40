// The end-of-run report for people: a sentence on what was traced, aligned
// tables of the figures, and a legend saying what each column means.
#pragma once

#include <ostream>

#include "model/run_report.h"
#include "model/timeline.h"

namespace memtrace {

void write_table(std::ostream &out, const RunReport &report);

// A recording cut off before its report (memtrace killed): per process, the
// highest and the last RSS its points hold.
void write_points_table(std::ostream &out, const Recording &recording);

// "exited with status 0", "was killed by SIGKILL", "is still running"
std::string describe_end(const ProcessRecord &proc);

} // namespace memtrace
