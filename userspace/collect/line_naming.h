// The naming stage of --lines: the samples' native frames become source lines
// (DWARF line tables, through the symbolizer), each traced function gets its
// body's lines and, where the file is readable, their text.
#pragma once

#include <vector>

#include "collect/line_samples.h"
#include "model/line_table.h"
#include "symbols/source_file.h"
#include "symbols/symbolizer.h"

namespace memtrace {

// One table per (process, function) with samples; a function no sample had
// gets one table too (pid 0), its lines blank, as memory_profiler shows a
// function that never ran.
std::vector<FunctionLines> name_lines(const LineEvidence &evidence, Symbolizer &symbols,
                                      SourceFiles &sources);

} // namespace memtrace
