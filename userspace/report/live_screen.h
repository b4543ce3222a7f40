// -i on a terminal: a top-like table of the traced processes, redrawn in place
// each interval with plain ANSI escapes (no curses): the biggest by peak RSS,
// what each grew since the last refresh and since tracing began.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/progress.h"

namespace memtrace {

// The screen's lines, no escapes: a title, a header, then up to `rows`
// processes by peak RSS, each line cut to `width` columns.
std::vector<std::string> live_screen(double elapsed_s, const std::vector<LiveProcess> &processes,
                                     size_t rows, size_t width);

// What redraws `lines` over the `previous` lines drawn last time (0: none):
// the cursor moved up to where they began, each line cleared as it is
// rewritten, and what is left below them cleared.
std::string redraw(const std::vector<std::string> &lines, size_t previous);

} // namespace memtrace
