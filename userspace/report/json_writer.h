// The end-of-run report for programs. Keys keep their meaning across versions;
// later features add keys. Sizes are bytes.
#pragma once

#include <ostream>

#include "model/run_report.h"

namespace memtrace {

void write_json(std::ostream &out, const RunReport &report);

} // namespace memtrace
