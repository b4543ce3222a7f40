// --lines for people: one block per traced function, as memory_profiler
// prints it (Line #, memory, increment, occurrences, line contents), with
// figures that come from stack samples, and a legend saying so.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "model/line_table.h"

namespace memtrace {

// `samples_lost`: stack copies the reader could not keep up with (their
// bytes are in no line).
void write_line_tables(std::ostream &out, const std::vector<FunctionLines> &tables, uint64_t sample_bytes,
                       uint64_t samples_lost = 0);

} // namespace memtrace
