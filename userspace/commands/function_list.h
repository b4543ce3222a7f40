// --list-funcs: the functions a pattern would trace, with their probe sites
// and what each call's probes will cost.
#pragma once

#include <cstddef>
#include <ostream>
#include <vector>

#include "probes/probe_planner.h"

namespace memtrace {

void write_function_list(std::ostream &out, const std::vector<FunctionProbe> &probes,
                         size_t max_probes);

} // namespace memtrace
